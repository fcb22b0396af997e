// Runs one node of the topology in this process: `tsx src/main.ts app`.
// `npm start` runs every node this way; see system.ts for the topology.
import { runNode } from '../../../shared/node-main'
import { roles } from './roles'

void runNode(roles)
