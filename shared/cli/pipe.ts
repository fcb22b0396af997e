// `npm run diff -- 2 3 | head` closes the pipe early: that is not an error.
// Imported for its effect by the commands whose output learners pipe.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0)
  throw error
})
