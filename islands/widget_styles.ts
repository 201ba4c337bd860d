/**
 * The widget's stylesheet, inside its shadow root. Colours are custom properties so a host can retheme it
 * (`jasaweb-notifications { --jw-accent: teal }`; a widget at the right edge opens its panel leftwards with
 * `--jw-panel-left: auto; --jw-panel-right: 0`); dark mode follows `prefers-color-scheme`. Toasts stack in the
 * viewport's bottom-right corner, each exactly 300px wide (border included) and 16px from the edges, so a host
 * page can keep a known gutter clear of them (`/demo` does).
 */
export const WIDGET_CSS = `
:host { all: initial; display: inline-block; position: relative; font: 14px/1.4 system-ui, sans-serif;
  --jw-bg: #ffffff; --jw-fg: #1f2933; --jw-muted: #616e7c; --jw-border: #d9e2ec; --jw-accent: #2563eb;
  --jw-unread: #eff6ff; --jw-ok: #16a34a; --jw-wait: #d97706; --jw-off: #dc2626; --jw-badge: #dc2626;
  color: var(--jw-fg); }
@media (prefers-color-scheme: dark) {
  :host { --jw-bg: #1f2430; --jw-fg: #e4e7eb; --jw-muted: #9aa5b1; --jw-border: #3e4c59;
    --jw-accent: #60a5fa; --jw-unread: #243047; }
}
.bar { display: flex; align-items: center; gap: 10px; }
.status { display: inline-flex; align-items: center; gap: 6px; font-size: 12px; color: var(--jw-muted); }
.dot { width: 8px; height: 8px; border-radius: 50%; background: var(--jw-off); }
.connected .dot { background: var(--jw-ok); }
.connecting .dot { background: var(--jw-wait); }
button { font: inherit; color: inherit; cursor: pointer; }
button:focus-visible { outline: 2px solid var(--jw-accent); outline-offset: 2px; }
.bell { position: relative; background: none; border: 1px solid var(--jw-border); border-radius: 999px;
  width: 36px; height: 36px; background: var(--jw-bg); display: inline-flex; align-items: center;
  justify-content: center; }
.bell svg { width: 18px; height: 18px; }
.badge { position: absolute; top: -6px; right: -6px; min-width: 18px; height: 18px; padding: 0 5px;
  box-sizing: border-box; border-radius: 9px; background: var(--jw-badge); color: #fff; font-size: 11px;
  font-weight: 700; display: inline-flex; align-items: center; justify-content: center; }
.badge[hidden] { display: none; }
.panel { position: absolute; left: var(--jw-panel-left, 0); right: var(--jw-panel-right, auto); top: 44px; z-index: 1000; width: 340px; max-height: 420px;
  overflow: auto; background: var(--jw-bg); color: var(--jw-fg); border: 1px solid var(--jw-border);
  border-radius: 10px; box-shadow: 0 10px 30px rgba(0,0,0,.2); }
.panel header { display: flex; align-items: center; gap: 8px; padding: 10px 12px;
  border-bottom: 1px solid var(--jw-border); position: sticky; top: 0; background: var(--jw-bg); }
.panel h2 { font-size: 14px; margin: 0; flex: 1; }
.mark-all, .mark { background: none; border: none; color: var(--jw-accent); padding: 2px 4px; font-size: 12px; }
.mark-all:disabled { color: var(--jw-muted); cursor: default; }
.close { background: none; border: none; }
.list { list-style: none; margin: 0; padding: 0; }
.item { display: flex; gap: 10px; padding: 10px 12px; border-bottom: 1px solid var(--jw-border); }
.item.unread { background: var(--jw-unread); }
.kind { flex: none; width: 4px; border-radius: 2px; background: var(--jw-accent); }
[data-type=payment_update] .kind { background: var(--jw-ok); }
[data-type=admin_alert] .kind { background: var(--jw-off); }
[data-type=system_announcement] .kind { background: var(--jw-wait); }
.item .text { flex: 1; display: flex; flex-direction: column; gap: 2px; min-width: 0; }
.item .message { color: var(--jw-muted); font-size: 13px; }
.item time { color: var(--jw-muted); font-size: 11px; }
.empty { padding: 16px; color: var(--jw-muted); margin: 0; }
.toasts { position: fixed; right: 16px; bottom: 16px; z-index: 1001; display: flex; flex-direction: column;
  gap: 8px; }
.toast { display: grid; grid-template-columns: 1fr auto; gap: 2px 8px; box-sizing: border-box; width: 300px;
  max-width: calc(100vw - 32px); padding: 10px 12px;
  background: var(--jw-bg); color: var(--jw-fg); border: 1px solid var(--jw-border);
  border-left: 4px solid var(--jw-accent); border-radius: 8px; box-shadow: 0 6px 20px rgba(0,0,0,.18); }
.toast span { grid-column: 1; color: var(--jw-muted); font-size: 13px; }
.toast button { grid-row: 1 / span 2; grid-column: 2; background: none; border: none; }
`;
