// The sign-in page: the token goes once, in an Authorization header, to POST /console/session, which
// answers with the HttpOnly cookie. The token is never put in a URL, in storage, or kept by this script.
import { CONSOLE_HEADERS, safeNext } from './api.js';

const form = document.getElementById('sign-in');
const input = document.getElementById('token');
const error = document.getElementById('sign-in-error');

const MESSAGES = {
  401: 'The service does not know this token.',
  403: 'This token is not an operator’s: the console is for operators.',
  429: 'Too many attempts: wait a minute and try again.',
};

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.hidden = true;
  const token = input.value.trim();
  const button = form.querySelector('button');
  button.disabled = true;
  try {
    const response = await fetch('/console/session', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { ...CONSOLE_HEADERS, Authorization: `Bearer ${token}` },
    });
    if (response.status === 204) {
      input.value = '';
      location.replace(safeNext(new URLSearchParams(location.search).get('next')));
      return;
    }
    error.textContent = MESSAGES[response.status] ?? `Sign-in failed (${response.status}).`;
  } catch {
    error.textContent = 'The service did not answer.';
  } finally {
    button.disabled = false;
  }
  error.hidden = false;
  input.select();
});
