/**
 * The stylesheet of the service's own pages: the status panel, its 401 and 403 pages, the landing page and the
 * 404 page. Every text colour meets WCAG AA contrast (4.5:1) on each background it sits on (white cards, the
 * page, the grey pills); `tests/browser_pages_test.ts` checks it with axe-core.
 */
export const PAGE_STYLE = `<style>
:root { font: 14px/1.4 system-ui, sans-serif; color: #1d2430; background: #f4f6f9; color-scheme: light; }
body { margin: 0; padding: 24px; }
.panel header, .notice { display: flex; gap: 12px; align-items: center; }
h1 { font-size: 20px; margin: 0 auto 0 0; }
h2 { font-size: 13px; font-weight: 600; margin: 0 0 6px; color: #5a6475; text-transform: uppercase; }
a { color: #1d4ed8; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 12px; margin: 16px 0; }
.card { background: #fff; border-radius: 8px; padding: 12px 16px; box-shadow: 0 1px 2px #0001; margin-bottom: 12px; }
.page { max-width: 640px; margin: 0 auto; }
.page h1 { margin-bottom: 12px; }
.page li { margin: 6px 0; }
.figure { font-size: 28px; font-weight: 600; margin: 0; font-variant-numeric: tabular-nums; }
.figure.small { font-size: 18px; }
.spark { width: 100%; height: 36px; color: #2f6fde; }
.muted { color: #5a6475; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%);
  white-space: nowrap; }
table { width: 100%; border-collapse: collapse; }
td, th { text-align: left; padding: 4px 8px; border-top: 1px solid #eef0f4; }
.agent { max-width: 240px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.link, .health { padding: 2px 8px; border-radius: 10px; font-size: 12px; background: #e4e7ec; }
.link-live, .health-healthy, .check-pass { color: #17753a; }
.health-degraded, .check-warn { color: #8a5200; }
.link-offline, .health-unhealthy, .check-fail { color: #b3261e; }
.feed { list-style: none; margin: 0; padding: 0; max-height: 260px; overflow: auto; }
.feed li { padding: 2px 0; }
button { cursor: pointer; }
</style>`;
