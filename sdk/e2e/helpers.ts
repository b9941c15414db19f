// Typed wrappers around the test page's helpers (e2e/page/index.html).
import type { Page } from "playwright-core";
import type { Browser } from "./browser";
import type { Origin } from "./origin";

export interface Got {
  status: number;
  body: string;
  fromCache: boolean;
}

interface PageHelpers {
  ready(swQuery?: string, script?: string): Promise<void>;
  get(path: string, headers?: Record<string, string>, method?: string, credentials?: RequestCredentials): Promise<Got>;
  getMany(path: string, n: number): Promise<number>;
  cached(path: string): Promise<boolean>;
  cachedCount(): Promise<number>;
  cachedBody(path: string): Promise<string | null>;
  cachedPaths(cache?: string): Promise<string[]>;
  update(): Promise<void>;
  outbox(): Promise<number>;
  start(opts: Record<string, unknown>): Promise<boolean>;
  stopClient(): void;
  events(): Record<string, unknown>[];
  stats(): Promise<Record<string, unknown>>;
  startGet(path: string): void;
  awaitGet(path: string): Promise<Got>;
}

/** Tab is one browser tab on a test origin. */
export class Tab {
  private constructor(readonly page: Page) {}

  /**
   * open loads the test page on origin in a new tab and waits for the
   * Service Worker (script, default Cachet's own); swQuery (e.g.
   * "&cookies=visible") is added to its script URL.
   */
  static async open(b: Browser, origin: Origin, swQuery = "", script = "/cachet-sw.js"): Promise<Tab> {
    const page = await b.context.newPage();
    page.on("pageerror", (e) => console.error("page error:", e.message));
    await page.goto(origin.url + "/");
    await page.waitForFunction(() => "ready" in window);
    const t = new Tab(page);
    await t.call("ready", swQuery, script);
    return t;
  }

  /** call runs one of the page's helpers with JSON arguments. */
  call<K extends keyof PageHelpers>(name: K, ...args: Parameters<PageHelpers[K]>): Promise<Awaited<ReturnType<PageHelpers[K]>>> {
    return this.page.evaluate(
      ([n, a]) => (window as unknown as Record<string, (...x: unknown[]) => unknown>)[n]!(...a),
      [name, args] as [string, unknown[]],
    ) as Promise<Awaited<ReturnType<PageHelpers[K]>>>;
  }

  get(path: string, headers: Record<string, string> = {}, method = "GET", credentials: RequestCredentials = "same-origin"): Promise<Got> {
    return this.call("get", path, headers, method, credentials);
  }

  /** stopWorkers stops the page's Service Worker (as the browser does when idle); the next fetch starts it again. */
  async stopWorkers(): Promise<void> {
    const cdp = await this.page.context().newCDPSession(this.page);
    await cdp.send("ServiceWorker.enable");
    await cdp.send("ServiceWorker.stopAllWorkers");
    await cdp.detach();
  }

  close(): Promise<void> {
    return this.page.close();
  }
}
