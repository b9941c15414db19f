// A site's existing Workbox worker with Cachet added as a plugin, as the
// browser tests serve it (/workbox-sw.js): cache-first for /r/*,
// in the cache the client evicts from.
import { clientsClaim } from "workbox-core";
import { registerRoute } from "workbox-routing";
import { CacheFirst } from "workbox-strategies";
import { cachetPlugin } from "../../src/workbox";

declare const self: ServiceWorkerGlobalScope;

const cacheName = new URL(self.location.href).searchParams.get("cache") ?? "cachet";
void self.skipWaiting();
clientsClaim();
registerRoute(({ url }) => url.pathname.startsWith("/r/"), new CacheFirst({ cacheName, plugins: [cachetPlugin({ cacheName })] }));
