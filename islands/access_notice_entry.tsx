/** Hydration entry of the `/admin` 401 and 403 pages (served as `/islands/access_notice_entry.js`). */
import { hydrateIsland } from "../lib/client/hydrate.ts";
import AccessNotice from "./AccessNotice.tsx";

hydrateIsland(AccessNotice);
