// The REST client: the page uses only the public API, exactly as curl would.
// The token lives in localStorage so a reload keeps the user signed in.

const TOKEN_KEY = "flopcards.token";
const NAME_KEY = "flopcards.name";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

export function getToken() {
  return localStorage.getItem(TOKEN_KEY);
}

export function getName() {
  return localStorage.getItem(NAME_KEY);
}

export function saveUser(token, name) {
  localStorage.setItem(TOKEN_KEY, token);
  localStorage.setItem(NAME_KEY, name);
}

export function signOut() {
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(NAME_KEY);
}

// FastAPI's detail is a string for HTTPException and a list of {loc, msg} for validation
// errors; both become one readable sentence.
export function detailText(detail, status) {
  if (typeof detail === "string") return detail;
  // A refusal that explains itself in fields (e.g. how much more history a fit needs).
  if (detail && typeof detail.message === "string") return detail.message;
  if (Array.isArray(detail)) {
    return detail
      .map((d) => {
        const loc = Array.isArray(d.loc) ? d.loc.filter((p) => p !== "body").join(".") : "";
        return loc ? `${loc}: ${d.msg}` : d.msg;
      })
      .join("; ");
  }
  return `The server answered ${status}.`;
}

async function send(method, path, { body, token = getToken(), raw = false } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, `Could not reach the server (${err.message}).`);
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = detailText((await response.json()).detail, response.status);
    } catch {
      // Not JSON (a proxy's error page, say): the status line is all there is.
    }
    throw new ApiError(response.status, message);
  }
  if (raw) return response;
  return response.status === 204 ? null : response.json();
}

export const api = {
  get: (path, opts) => send("GET", path, opts),
  post: (path, body, opts) => send("POST", path, { ...opts, body }),
  patch: (path, body, opts) => send("PATCH", path, { ...opts, body }),
  put: (path, body, opts) => send("PUT", path, { ...opts, body }),
  delete: (path, opts) => send("DELETE", path, opts),
  // Exports need the bearer header, so a plain link cannot fetch them: download a blob.
  async download(path) {
    const response = await send("GET", path, { raw: true });
    const disposition = response.headers.get("Content-Disposition") || "";
    const match = /filename="([^"]+)"/.exec(disposition);
    const filename = match ? match[1] : path.split("/").pop();
    const url = URL.createObjectURL(await response.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = filename;
    document.body.append(a);
    a.click();
    a.remove();
    // Revoke later: revoking at once can cancel the download in some browsers.
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    return filename;
  },
};
