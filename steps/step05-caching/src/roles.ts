// The kinds of node in this step's topology, by the name main.ts is run with.
import { startAppServer } from './app-server'
import { startDbServer } from './db-server'
import { startLoadBalancer } from './load-balancer'
import { startMonitor } from './monitor'

export const roles = {
  app: startAppServer,
  database: startDbServer,
  monitor: startMonitor,
  'load-balancer': startLoadBalancer,
}
