// The kinds of node in this step's topology, by the name main.ts is run with.
// Each role's code loads only in the process that runs it.
import { lazy } from '../../../shared/lazy'

export const roles = {
  app: lazy(() => import('./app/app-server'), 'startAppServer'),
  database: lazy(() => import('./database/db-server'), 'startDbServer'),
  monitor: lazy(() => import('./database/monitor'), 'startMonitor'),
  'global-balancer': lazy(
    () => import('./region/global-balancer'),
    'startGlobalBalancer',
  ),
  worker: lazy(() => import('./queue/worker'), 'startWorker'),
  edge: lazy(() => import('./edge/edge-server'), 'startEdgeServer'),
  wan: lazy(() => import('./wan/wan-link'), 'startWan'),
  'load-balancer': lazy(
    () => import('./balancer/load-balancer'),
    'startLoadBalancer',
  ),
}
