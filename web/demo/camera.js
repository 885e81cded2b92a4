// Names the demo camera from ?id= and stamps the time, like a video overlay would.
const id = new URLSearchParams(location.search).get('id') || 'unknown';
document.getElementById('cam-title').textContent = `Camera ${id} — ${new Date().toLocaleTimeString()}`;
