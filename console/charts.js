// Two small canvas charts for the console (no chart library, no CDN): bars and stacked lines.
'use strict'
window.YktCharts = (() => {
  function setup (canvas) {
    const ctx = canvas.getContext('2d')
    ctx.clearRect(0, 0, canvas.width, canvas.height)
    ctx.font = '11px system-ui, sans-serif'
    return { ctx, w: canvas.width, h: canvas.height, left: 40, bottom: 22, top: 10, right: 10 }
  }
  function axis (g, max) {
    const { ctx, w, h, left, bottom, top, right } = g
    ctx.strokeStyle = '#9aa3af'; ctx.fillStyle = '#5b6778'
    ctx.beginPath(); ctx.moveTo(left, top); ctx.lineTo(left, h - bottom); ctx.lineTo(w - right, h - bottom); ctx.stroke()
    ctx.textAlign = 'right'; ctx.textBaseline = 'middle'
    for (const f of [0, 0.5, 1]) {
      const y = h - bottom - f * (h - bottom - top)
      ctx.fillText(String(Math.round(max * f)), left - 4, y)
    }
  }
  /** labels[i] under bar i, values[i] its height. */
  function bars (canvas, labels, values, color) {
    const g = setup(canvas); const max = Math.max(1, ...values); axis(g, max)
    const { ctx, w, h, left, bottom, top, right } = g
    const slot = (w - left - right) / values.length
    ctx.textAlign = 'center'; ctx.textBaseline = 'top'
    values.forEach((v, i) => {
      const bh = (v / max) * (h - bottom - top)
      ctx.fillStyle = color; ctx.fillRect(left + i * slot + 2, h - bottom - bh, slot - 4, bh)
      ctx.fillStyle = '#5b6778'; ctx.fillText(labels[i], left + i * slot + slot / 2, h - bottom + 4)
    })
  }
  /** series: [{values, color}], one value per second, oldest first. */
  function lines (canvas, series) {
    const g = setup(canvas)
    const n = series[0].values.length
    const max = Math.max(1, ...series[0].values.map((_, i) => series.reduce((s, x) => s + x.values[i], 0)))
    axis(g, max)
    const { ctx, w, h, left, bottom, top, right } = g
    const x = i => left + (i / (n - 1)) * (w - left - right)
    const y = v => h - bottom - (v / max) * (h - bottom - top)
    let base = new Array(n).fill(0)
    for (const s of series) {
      const tops = s.values.map((v, i) => base[i] + v)
      ctx.fillStyle = s.color; ctx.beginPath(); ctx.moveTo(x(0), y(base[0]))
      tops.forEach((v, i) => ctx.lineTo(x(i), y(v)))
      for (let i = n - 1; i >= 0; i--) ctx.lineTo(x(i), y(base[i]))
      ctx.closePath(); ctx.fill()
      base = tops
    }
    ctx.fillStyle = '#5b6778'; ctx.textAlign = 'center'; ctx.textBaseline = 'top'
    ctx.fillText('-120 s', x(0) + 14, h - bottom + 4); ctx.fillText('now', x(n - 1) - 10, h - bottom + 4)
  }
  return { bars, lines }
})()
