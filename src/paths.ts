/**
 * The URL of a compiled module of dist/src (`rel` from src/, e.g.
 * `tasks/builtins.js`), from wherever this code runs: dist/src/ as tsc
 * compiled it, or a chunk of the esbuild bundle in dist/bundle/ (which
 * `mesh node` loads since issue 15: ~30 MB less resident memory than ~1,000
 * separate modules). Worker threads import task modules by such URLs.
 */
export function srcModule (rel: string): URL {
  const here = new URL('.', import.meta.url)
  return here.pathname.endsWith('/bundle/') ? new URL(`../src/${rel}`, here) : new URL(rel, here)
}
