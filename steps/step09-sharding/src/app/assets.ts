// What the origin tells caches about the page and its files. The CSS and JS
// are named after a hash of their content (app.3f9c1d2a.css): a new version
// is a new URL, so any cache may keep a copy for a year, immutable. The page
// itself changes under one URL: caches keep it briefly and then revalidate
// it by its ETag. Tags name what a purge by tag reaches.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import express from 'express'

const FILES = ['app.css', 'app.js']
const hash = (content: Buffer | string) =>
  createHash('sha256').update(content).digest('hex').slice(0, 10)

export function assetRoutes(
  publicDir: string,
  pageMaxAgeSeconds: number,
): express.Router {
  const router = express.Router()
  let page = readFileSync(join(publicDir, 'index.html'), 'utf8')
  for (const file of FILES) {
    const content = readFileSync(join(publicDir, file))
    const fingerprinted = file.replace('.', `.${hash(content)}.`)
    page = page.replaceAll(`/static/${file}`, `/static/${fingerprinted}`)
    router.get(`/static/${fingerprinted}`, (req, res) => {
      res
        .set('Cache-Control', 'public, max-age=31536000, immutable')
        .set('Cache-Tag', 'assets')
        .type(file)
        .send(content)
    })
  }
  const etag = `"${hash(page)}"`
  router.get('/', (req, res) => {
    res
      .set('Cache-Control', `public, max-age=${pageMaxAgeSeconds}`)
      .set('Cache-Tag', 'page')
      .set('ETag', etag)
    // A cache that holds this version asks with If-None-Match: 304, no body.
    if (req.fresh) return void res.status(304).end()
    res.type('html').send(page)
  })
  // The plain names too, for pages cached before a new version.
  router.use('/static', express.static(publicDir, { maxAge: '5m' }))
  return router
}
