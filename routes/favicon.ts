/**
 * The service's icon: `/favicon.svg`, which every page links, and `/favicon.ico`, which browsers ask for on
 * their own (a JSON answer opened in a tab, a page that links none), so neither ever logs a 404. Both are
 * cacheable for a day.
 */
import { Hono } from "hono";
import type { AppEnv } from "../middleware/env.ts";

/** A white bell on the widget's blue. */
const FAVICON_SVG =
  `<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#2563eb"/><g transform="translate(4 4)" fill="none" stroke="#fff" stroke-width="2.4" stroke-linecap="round" stroke-linejoin="round"><path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9"/><path d="M10.3 21a1.94 1.94 0 0 0 3.4 0"/></g></svg>`;

/** FAVICON_SVG rendered at 32×32 by Chromium, in an ICO container holding one PNG image. */
const FAVICON_ICO = Uint8Array.from(
  atob([
    "AAABAAEAICAAAAEAIAC9AwAAFgAAAIlQTkcNChoKAAAADUlIRFIAAAAgAAAAIAgGAAAAc3p69AAAA3JJREFUeJzEV0tME0EY/ma7",
    "lNYCggGqiDwUH5EYJCZIwsmoaSTRg/F9QKSePKkxNiIxMdEYjYkHTyYKxlc4mBiNr4PKxQPqQQIhmACxPBWwpbTUWtruOLOlBeLC",
    "7jZQv2R3Z2b/mf+bf/7/nxkRs1BUO54pGsJnQGklq24lhORiEUApHWWfNhDSGo6It5z3szyxfyRWWFc3ukcAucta8rCUoBiWQE/2",
    "Nua+iRMoOeGyEUF6iyRCorSakyAFxzxZqeZQJ2tbhWSCWSJAjFtEoyl0PBHlhNluw2oDJAno+RFh6wx9YEttolM1IitU6ulXVizi",
    "4tE0lBaISBGjbaEw0OEM42rzpPzVQaKSlNjHnGwyhVrk7TYzzu63IMWg/J8Tuf7UjwfvAtACZrQ+Uavymp1mOA5a5PKwS8KjlgCc",
    "IxG5Xmw1yP+tWQIajlhAJYqHH/6ojsl1k/X2MdXVK2IKXl7OgpGZ/PWXIC40+RCYmitjNgI37BmwbTNiilmi+pIb/aOS2tAQoAG1",
    "u8yy8oFfkqJyDt52/p5Xtg6X5RbRAk0EKjamyN8nzOxKymeTeNwSmO5jxKIQWG4hKMmLel33kLqHdw9F/WJTvgGZFqIqr0pg7coZ",
    "lx9yqa/poCsSL3PfUYOoJmAxzczC41cn4PVTxb4JE0g3C4qDzwdfQNJFQHUJCnKjIiPjEkIRqII7ossbJbomR30JVAmUFUcjoF1H",
    "im13hub0TZiAiUVSVWk0nDq+6yAwLVtVmhLfLxIisG+7Sc5wLLPixSf11BrDq89BeXdMNxPsrUhdUHZefpvZbnfuQDT3d/aFkZ9t",
    "kB+t6BoIy2M4DqWhazCCrn5lCyruBTz5vL+2AhnL1L1YCyZY9Nga3HD7/o0iRQvwQ4aWENIKcypBcJ4UrkjAF6DY4XCzENRu8oXg",
    "8krwB6l2Ahw/WdzzRwkCM05+jhDfbgsZ0f6xBI5l0JAJlXD7VAZ2lxtxpdkvk6k/bJHPCafv+KAXIgUdISBWPZ2kacPw008MCUwe",
    "XLfA3m3QCUejF63fQvH6x84Q6pv0z57r5kvACdj09PsdZCeemxOwZgrs+EUxPpnI/GW0EXYfLBKF8Fd2zs9EEsEc1hOWxHKBXRSd",
    "FKQOyQYltVy3vBf0NmY/43c1fl3CUoNfTpmunqbs57w6J939j+v5XwAAAP//zNqkJgAAAAZJREFUAwC5WE+pbFxd8AAAAABJRU5E",
    "rkJggg==",
  ].join("")),
  (ch) => ch.charCodeAt(0),
);

const cached = { "cache-control": "public, max-age=86400" };

export const faviconRoutes = new Hono<AppEnv>()
  .get("/favicon.svg", (c) => c.body(FAVICON_SVG, 200, { ...cached, "content-type": "image/svg+xml" }))
  .get("/favicon.ico", (c) => c.body(FAVICON_ICO, 200, { ...cached, "content-type": "image/x-icon" }));
