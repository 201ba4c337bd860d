/** Hydration entry of the `/admin` status panel (served as `/islands/admin_panel_entry.js`). */
import { hydrateIsland } from "../lib/client/hydrate.ts";
import AdminPanel from "./AdminPanel.tsx";

hydrateIsland(AdminPanel);
