// The kinds of node in this step's topology, by the name main.ts is run with.
import { startAppServer } from './app-server'
import { startDbServer } from './db-server'
import { startLoadBalancer } from './load-balancer'

export const roles = {
  app: startAppServer,
  database: startDbServer,
  'load-balancer': startLoadBalancer,
}
