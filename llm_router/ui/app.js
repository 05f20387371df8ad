// The console's shell: session, login, hash routing between the pages.
import { api, clear, el, errorText, hashParams, session, zoneName } from "./core.js";
import { renderKeys } from "./keys.js";
import { renderModels } from "./models.js";
import { renderOverview } from "./overview.js";
import { renderPlayground } from "./playground.js";
import { renderRequests } from "./requests.js";

const base = location.pathname.replace(/\/+$/, "");
const PAGES = {
  overview: renderOverview,
  keys: (page, params) => renderKeys(page, params, "key"),
  teams: (page, params) => renderKeys(page, params, "team"),
  requests: renderRequests,
  models: renderModels,
  playground: renderPlayground,
};
let loginCsrf = null;
let rendering = 0;

function showLogin(message) {
  session.role = null;
  session.csrf = null;
  document.getElementById("top").hidden = true;
  clear(document.getElementById("page"));
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = message || "";
  document.getElementById("login-key").focus();
}

function signedIn(data) {
  session.role = data.role;
  session.csrf = data.csrf;
  document.getElementById("login").hidden = true;
  document.getElementById("top").hidden = false;
  document.getElementById("role").textContent = data.role === "admin" ? "admin" : "viewer (read-only)";
  document.getElementById("foot").textContent = `Times are shown in ${zoneName()}.`;
  route();
}

async function checkSession() {
  const data = await api("GET", `${base}/session`);
  if (data.authenticated) return signedIn(data);
  loginCsrf = data.login_csrf;
  showLogin();
}

async function login(event) {
  event.preventDefault();
  const input = document.getElementById("login-key");
  const error = document.getElementById("login-error");
  error.textContent = "";
  try {
    const response = await fetch(`${base}/login`, {
      method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": loginCsrf || "" },
      body: JSON.stringify({ key: input.value }),
    });
    const data = await response.json();
    input.value = "";
    if (!response.ok) {
      error.textContent = response.status === 401 ? "Wrong key." : (data.error && data.error.message) || "Login failed.";
      if (response.status === 403) await checkSession();
      return;
    }
    signedIn(data);
  } catch (e) {
    error.textContent = errorText(e);
  }
}

async function logout() {
  try { await api("POST", `${base}/logout`); } catch { /* already out */ }
  location.hash = "";
  await checkSession();
}

async function route() {
  if (!session.role) return;
  const hash = location.hash.slice(2);
  const name = hash.split("?")[0] || "overview";
  const render = PAGES[name] || PAGES.overview;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.page === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const page = clear(document.getElementById("page"));
  const mine = ++rendering;
  const holder = el("div", { class: "page" });
  page.append(holder);
  try {
    await render(holder, hashParams());
  } catch (e) {
    if (mine === rendering && session.role) holder.append(el("p", { class: "error", role: "alert" }, errorText(e)));
  }
  document.title = `${name[0].toUpperCase()}${name.slice(1)} · llm-router console`;
}

window.addEventListener("hashchange", route);
window.addEventListener("console:logged-out", () => { if (session.role) checkSession(); });
document.getElementById("login-form").addEventListener("submit", login);
document.getElementById("logout").addEventListener("click", logout);
document.querySelector(".skip").addEventListener("click", event => {  // not a route: focus the page
  event.preventDefault();
  document.getElementById("main").focus();
});
checkSession().catch(e => showLogin(errorText(e)));
