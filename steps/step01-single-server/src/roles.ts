// The kinds of node in this step's topology, by the name main.ts is run with.
import { startAppServer } from './app-server'

export const roles = { app: startAppServer }
