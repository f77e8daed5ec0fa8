import { Machine } from 'uring-machine'
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const m = new Machine()
const it = m.interval(5)
await sleep(60)
const w = setTimeout(() => { console.log('HANG', m.metrics()); process.exit(1) }, 3000)
console.log(await it.next()); console.log(await it.next()); console.log(await it.return())
clearTimeout(w)
console.log('ok', m.metrics().pending)
