// The kinds of node in this step's topology, by the name main.ts is run with.
import { startAppServer } from './app-server'
import { startDbServer } from './db-server'

export const roles = { app: startAppServer, database: startDbServer }
