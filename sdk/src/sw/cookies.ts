// What a Service Worker can tell about cookies: it cannot see a request's
// Cookie header nor a response's Set-Cookie, and the Cookie Store API hides
// HttpOnly cookies.

declare const self: ServiceWorkerGlobalScope;

interface CookieJar {
  getAll(options?: { url: string }): Promise<unknown[]>;
}
const jar = (self as unknown as { cookieStore?: CookieJar }).cookieStore;

/**
 * jarPrint returns a fingerprint of the script-visible cookie jar; a change
 * across a fetch means the response set a cookie ("" without the API).
 */
export const jarPrint = async (): Promise<string> => (jar ? JSON.stringify(await jar.getAll()) : "");

/**
 * carriesCookies tells whether req carries cookies: never with credentials
 * "omit" or "same-origin" to another origin; otherwise yes, unless visible
 * (every cookie that matters is visible to scripts) and the Cookie Store API
 * finds no cookie. It is asked for the request's URL first; Chromium
 * refuses any URL there ("must be within Service Worker scope"), and then
 * the cookies of the worker's scope are what it can tell.
 */
export async function carriesCookies(req: Request, visible: boolean): Promise<boolean> {
  if (req.credentials === "omit") return false;
  const same = new URL(req.url).origin === self.location.origin;
  if (req.credentials === "same-origin" && !same) return false;
  if (!visible || !jar || !same) return true;
  for (const ask of [() => jar.getAll({ url: req.url }), () => jar.getAll()]) {
    try {
      return (await ask()).length > 0;
    } catch {
      // the next question, or the conservative answer
    }
  }
  return true;
}
