// `node --import uring-machine/register app.js` (or `--require`): picks the
// best scheduler here, makes it the thread's, and routes Node's own APIs
// through it (see install()). NODE_DEBUG=uring-machine says which it chose.
import { debuglog } from 'node:util'
import { defaultScheduler } from './scheduler'
import { setScheduler } from './tasks'
import { install } from './install'

const { scheduler, reason } = defaultScheduler()
setScheduler(scheduler)
install()
debuglog('uring-machine')('register: %s scheduler (%s)', scheduler.name, reason)
