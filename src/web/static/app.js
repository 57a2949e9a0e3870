// birdwatch web page: the little script the pages use (served from /static; the CSP allows no inline script).
// Login, logout, restore/mark buttons (with a confirmation where one is asked), review labels. Every action sends
// the session's CSRF token (from <meta name="csrf-token">) in the X-CSRF-Token header.
'use strict';

function csrf() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute('content') : '';
}

function flash(text, isError) {
  const box = document.querySelector('.flash');
  if (!box) return;
  box.textContent = text;
  box.classList.toggle('error', Boolean(isError));
  box.hidden = false;
}

// Where to go after logging in: only a path on this site (the server checks the same, isSameOriginPath in
// server.ts): starts with '/', same origin once resolved, no backslash or control character.
function sameOriginPath(next) {
  // eslint-disable-next-line no-control-regex -- control characters are what it refuses
  if (typeof next !== 'string' || !next.startsWith('/') || /[\\\u0000-\u001f\u007f]/.test(next)) return false;
  try {
    return new URL(next, 'http://x').origin === 'http://x';
  } catch {
    return false; // no URL at all (`//[`)
  }
}

async function post(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf() },
    body: JSON.stringify(body || {}),
    credentials: 'same-origin',
  });
  let answer = {};
  try {
    answer = await response.json();
  } catch {
    /* not JSON */
  }
  if (!response.ok) throw new Error(answer.error || `${response.status} ${response.statusText}`);
  return answer;
}

document.addEventListener('submit', async (event) => {
  const form = event.target;
  if (!form.matches('form[data-login]')) return;
  event.preventDefault();
  const error = form.querySelector('[data-login-error]');
  error.hidden = true;
  const data = new FormData(form);
  try {
    const response = await fetch('/api/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify({ username: data.get('username'), password: data.get('password') }),
    });
    if (!response.ok) {
      const answer = await response.json().catch(() => ({}));
      throw new Error(answer.error || `login failed (${response.status})`);
    }
    location.assign(sameOriginPath(form.dataset.next) ? form.dataset.next : '/');
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
  }
});

document.addEventListener('click', async (event) => {
  const button = event.target.closest('button');
  if (!button) return;
  try {
    if (button.hasAttribute('data-logout')) {
      await post('/api/logout');
      location.assign('/login');
    } else if (button.dataset.action) {
      if (button.dataset.confirm && !confirm(button.dataset.confirm)) return;
      button.disabled = true;
      const id = button.dataset.id;
      if (button.dataset.action === 'restore') {
        const result = await post(`/api/decisions/${id}/restore`);
        flash(result.already ? `Already back in the blog at ${result.to}` : `Put back in the blog: ${result.to}`);
        const card = button.closest('.card');
        if (card) {
          card.classList.add('restored');
          const note = document.createElement('div');
          note.className = 'badge back';
          note.textContent = 'back in the blog';
          button.replaceWith(note);
          return;
        }
      } else {
        const result = await post(`/api/decisions/${id}/mark`, {
          label: button.dataset.label,
          move: button.dataset.move === 'true',
        });
        flash(result.moved ? `Marked airplane and moved to ${result.to}` : `Marked ${result.label}`);
      }
      setTimeout(() => location.reload(), 600);
    } else if (button.dataset.review) {
      button.disabled = true;
      await post(`/api/review/${button.dataset.id}`, { label: button.dataset.review });
      location.reload();
    }
  } catch (e) {
    button.disabled = false;
    flash(e.message, true);
  }
});

// A picture that cannot be shown (gone, refused) gets its placeholder thumbnail instead of a broken image.
document.addEventListener(
  'error',
  (event) => {
    const img = event.target;
    if (!(img instanceof HTMLImageElement) || img.dataset.fallback) return;
    const match = /\/api\/decisions\/(\d+)\/image$/.exec(img.getAttribute('src') || '');
    if (match) {
      img.dataset.fallback = '1';
      img.src = `/api/decisions/${match[1]}/thumbnail`;
    }
  },
  true,
);
