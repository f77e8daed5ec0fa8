// `node --import uring-machine/register app.js` (or `--require`): routes
// Node's own APIs through the thread's scheduler (see install()), and makes
// the best scheduler here the thread's at the first routed call, so that
// loading the hook leaves no trace (no ring, no worker_threads) before it is
// used. NODE_DEBUG=uring-machine says which scheduler it chose.
import { installWithDefaultScheduler } from './install'

installWithDefaultScheduler()
