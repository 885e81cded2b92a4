// The sign-in page: carries ?next= into the form, shows the error of a failed attempt, and offers
// the agency's identity provider when the server has one.
const q = new URLSearchParams(location.search);
const next = q.get('next') || '/';
document.getElementById('login-next').value = next;
if (q.get('error')) document.getElementById('login-error').hidden = false;
fetch('/auth/oidc/login?probe=1').then(r => r.json()).then(d => {
  if (d.enabled) {
    document.getElementById('oidc').hidden = false;
    document.getElementById('oidc-link').href = `/auth/oidc/login?next=${encodeURIComponent(next)}`;
  }
}).catch(() => {});
