// An "unmodified script": plain Node code that stats and reads many small
// files with fs/promises. The scheduler benchmark runs it as it is, with
// and without install(); it never mentions uring-machine.
import { readFile, stat } from 'node:fs/promises'

export async function scan (files, concurrency = 64) {
  let bytes = 0
  let next = 0
  const worker = async () => {
    while (next < files.length) {
      const f = files[next++]
      const st = await stat(f)
      const data = await readFile(f)
      if (data.length !== st.size) throw new Error(`${f}: read ${data.length} bytes of ${st.size}`)
      bytes += data.length
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return bytes
}
