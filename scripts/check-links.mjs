#!/usr/bin/env node
// Checks the links of the documentation: README.md, docs/*.md and
// benches/RESULTS.md (or the files given as arguments).
//
// - A relative link must name a file that exists; a `#anchor` (on its own or
//   after a .md file) must name a heading of that file, slugged as GitHub and
//   npmjs.com slug them.
// - README.md is also the npm package's README, and the package carries
//   docs/ beside it (packages/uring-machine/scripts/prepack.mjs), so a
//   relative link from README.md or docs/ may only point into what the
//   tarball has: README.md, docs/, CHANGELOG.md, LICENSE. Anything else in
//   the repository is linked by its GitHub URL
//   (https://github.com/uring-machine/uring-machine/blob/main/<path>), which
//   works on npmjs.com too; such a URL is checked against the working tree.
// - Other absolute URLs are not fetched (no network here).
//
// With --root DIR it checks an unpacked npm tarball instead (README.md and
// docs/ there): relative links only, since the GitHub URLs point at the
// repository, not the tarball (.ci/dist runs this on package/).
//
// Prints one line per broken link, then a summary; exits 1 if any is broken.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
const rootAt = args.indexOf('--root')
const packed = rootAt !== -1
const root = packed ? path.resolve(args.splice(rootAt, 2)[1] ?? '.') : path.resolve(fileURLToPath(new URL('..', import.meta.url)))
const REPO_URL = /^https:\/\/github\.com\/uring-machine\/uring-machine\/(?:blob|tree)\/[^/]+\/([^#?]*)(?:\?[^#]*)?(#.*)?$/
// What the npm tarball carries beside README.md (see .ci/dist's has_files).
const PACKAGED = (rel) => rel === 'README.md' || rel === 'CHANGELOG.md' || rel === 'LICENSE' || rel === 'docs' || rel.startsWith('docs/')

function defaultFiles () {
  const docs = existsSync(path.join(root, 'docs'))
    ? readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)
    : []
  return ['README.md', ...docs, 'benches/RESULTS.md'].filter((f) => existsSync(path.join(root, f)))
}

// Lines outside fenced code blocks, with their numbers.
function proseLines (text) {
  const out = []
  let fence = null
  text.split('\n').forEach((line, i) => {
    const m = /^ {0,3}(`{3,}|~{3,})/.exec(line)
    if (m) {
      if (fence === null) fence = m[1]
      else if (m[1][0] === fence[0] && m[1].length >= fence.length) fence = null
      return
    }
    if (fence === null) out.push({ line, n: i + 1 })
  })
  return out
}

// GitHub's heading anchors: the text as rendered, lower-cased, with
// everything but letters, digits, spaces, '-' and '_' removed, spaces as '-';
// a repeated slug gets -1, -2, ...
function slugs (text) {
  const seen = new Map()
  const out = new Set()
  for (const { line } of proseLines(text)) {
    const h = /^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line)
    if (h !== null) {
      const rendered = h[1]
        .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
        .replace(/<[^>]+>/g, '') // inline HTML
        .replace(/[`*]/g, '') // code and emphasis marks ('_' stays: io_uring)
      let slug = rendered.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /g, '-')
      const n = seen.get(slug) ?? 0
      seen.set(slug, n + 1)
      if (n > 0) slug = `${slug}-${n}`
      out.add(slug)
    }
    for (const a of line.matchAll(/<a\s[^>]*(?:id|name)="([^"]+)"/g)) out.add(a[1])
  }
  return out
}

// Link targets of one line: inline links and images, and reference definitions.
function targets (line) {
  const noCode = line.replace(/(`+)[^`]*?\1/g, (m) => ' '.repeat(m.length))
  const found = []
  for (const m of noCode.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+"[^"]*")?\s*\)/g)) {
    found.push(m[1].replace(/^<|>$/g, ''))
  }
  const def = /^ {0,3}\[[^\]]+\]:\s*(\S+)/.exec(noCode)
  if (def !== null) found.push(def[1])
  return found
}

const slugCache = new Map()
function anchorsOf (abs) {
  if (!slugCache.has(abs)) slugCache.set(abs, slugs(readFileSync(abs, 'utf8')))
  return slugCache.get(abs)
}

function check (rel) {
  const abs = path.join(root, rel)
  const problems = []
  let count = 0
  const packagedSource = rel === 'README.md' || rel.startsWith('docs/')
  for (const { line, n } of proseLines(readFileSync(abs, 'utf8'))) {
    for (const raw of targets(line)) {
      count++
      const where = `${rel}:${n}: ${raw}`
      let file, anchor
      const gh = REPO_URL.exec(raw)
      if (gh !== null) {
        if (packed) continue
        file = path.join(root, decodeURIComponent(gh[1]))
        anchor = gh[2]?.slice(1)
      } else if (/^[a-z][a-z0-9+.-]*:/i.test(raw)) {
        continue // another site, or mailto: not checked here
      } else {
        const hash = raw.indexOf('#')
        const p = hash === -1 ? raw : raw.slice(0, hash)
        anchor = hash === -1 ? undefined : raw.slice(hash + 1)
        file = p === '' ? abs : path.resolve(path.dirname(abs), decodeURIComponent(p))
        const inRepo = path.relative(root, file)
        if (inRepo.startsWith('..') || path.isAbsolute(inRepo)) {
          problems.push(`${where}: points outside the repository`)
          continue
        }
        if (packagedSource && p !== '' && !PACKAGED(inRepo.split(path.sep).join('/'))) {
          problems.push(`${where}: ${inRepo} is not in the npm package; link it as https://github.com/uring-machine/uring-machine/blob/main/${inRepo}`)
          continue
        }
      }
      if (!existsSync(file)) {
        problems.push(`${where}: no such file ${path.relative(root, file)}`)
        continue
      }
      if (anchor !== undefined && anchor !== '') {
        if (statSync(file).isDirectory() || !file.endsWith('.md')) {
          problems.push(`${where}: an anchor into a file that is not Markdown`)
        } else if (!anchorsOf(file).has(decodeURIComponent(anchor))) {
          problems.push(`${where}: no heading #${anchor} in ${path.relative(root, file)}`)
        }
      }
    }
  }
  return { count, problems }
}

const files = args.length > 0 ? args.map((f) => path.relative(root, path.resolve(f))) : defaultFiles()
let links = 0
const broken = []
for (const f of files) {
  const { count, problems } = check(f)
  links += count
  broken.push(...problems)
}
for (const p of broken) console.log(`broken: ${p}`)
console.log(`check-links: ${links} links in ${files.length} files, ${broken.length} broken`)
process.exitCode = broken.length === 0 ? 0 : 1
