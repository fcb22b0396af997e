// The page's only script: POST the form as JSON, show the short URL or the
// error message the API sent back.
const form = document.getElementById('shorten')
const result = document.getElementById('result')

form.addEventListener('submit', async (event) => {
  event.preventDefault()
  const data = new FormData(form)
  const body = { url: data.get('url') }
  if (data.get('alias')) body.alias = data.get('alias')
  const response = await fetch('/api/links', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  })
  const json = await response.json()
  result.className = response.ok ? '' : 'error'
  if (response.ok) {
    const link = document.createElement('a')
    link.href = json.shortUrl
    link.textContent = json.shortUrl
    result.replaceChildren('Your short link: ', link)
  } else {
    result.textContent = json.error.message
  }
})
