// The ops console. The token lives in this closure only: never in the URL, storage or a cookie.
// Live decisions come over Server-Sent Events read with fetch() (EventSource cannot send the
// Authorization header). The page shows card tokens only: the service never sends a card number.
'use strict'
;(() => {
  const $ = id => document.getElementById(id)
  const LIVE_ROWS_MAX = 100
  const STATS_EVERY_MS = 2000
  let token = null
  let streamAbort = null
  let statsTimer = null

  const yuan = fen => (fen / 100).toFixed(2)
  const text = (tag, value, cls) => { const el = document.createElement(tag); el.textContent = value == null ? '—' : String(value); if (cls) el.className = cls; return el }
  const setStatus = (state, label) => { const s = $('status'); s.dataset.state = state; s.textContent = label }

  async function api (path) {
    const res = await fetch(path, { headers: { authorization: 'Bearer ' + token }, cache: 'no-store' })
    const body = res.headers.get('content-type')?.includes('json') ? await res.json() : null
    return { status: res.status, body }
  }

  $('login-form').addEventListener('submit', async ev => {
    ev.preventDefault()
    token = $('token').value
    $('token').value = ''
    const { status, body } = await api('/console/api/session').catch(() => ({ status: 0 }))
    if (status !== 200) {
      token = null
      $('login-error').textContent = status === 401 ? '令牌无效 · Token not accepted' : `无法连接 · Cannot reach the service (${status})`
      return
    }
    $('login').hidden = true
    $('dash').hidden = false
    $('t-role').textContent = body.role === 'admin' ? '管理员 admin' : '运维只读 ops (read-only)'
    const today = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10)
    $('s-to').value = today
    $('s-from').value = new Date(Date.parse(today) - 6 * 86400e3).toISOString().slice(0, 10)
    startStream()
    refreshStats()
    statsTimer = setInterval(refreshStats, STATS_EVERY_MS)
    loadSettlement()
  })

  async function startStream () {
    streamAbort = new AbortController()
    try {
      const res = await fetch('/console/api/live', { headers: { authorization: 'Bearer ' + token }, signal: streamAbort.signal })
      if (res.status !== 200) throw new Error('live stream answered ' + res.status)
      setStatus('live', '实时 · live')
      $('live-state').textContent = ''
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
      let buffered = ''
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        buffered += value
        let end
        while ((end = buffered.indexOf('\n\n')) !== -1) {
          const frame = buffered.slice(0, end); buffered = buffered.slice(end + 2)
          const data = frame.split('\n').filter(l => l.startsWith('data: ')).map(l => l.slice(6)).join('\n')
          if (data !== '') addLive(JSON.parse(data))
        }
      }
      throw new Error('live stream ended')
    } catch (error) {
      if (streamAbort.signal.aborted) return
      setStatus('error', '已断开 · disconnected')
      $('live-state').textContent = '重连中 · reconnecting…'
      setTimeout(startStream, 3000)
    }
  }

  function addLive (e) {
    const tr = document.createElement('tr')
    tr.className = (e.decision === 'approved' ? 'approved' : 'declined') + ' fresh'
    tr.dataset.terminal = e.terminal
    tr.append(text('td', new Date(e.at).toLocaleTimeString('zh-CN', { hour12: false })), text('td', e.terminal), text('td', e.scenario), text('td', e.city),
      text('td', e.decision + (e.replay ? ' (replay)' : ''), 'dec'), text('td', e.reason), text('td', yuan(e.amount), 'num'), text('td', e.card), text('td', e.latencyMs.toFixed(2), 'num'))
    const body = $('live').tBodies[0]
    body.prepend(tr)
    while (body.rows.length > LIVE_ROWS_MAX) body.deleteRow(-1)
  }

  function fillCounts (id, counts) {
    const body = $(id).tBodies[0]
    body.replaceChildren(...Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([k, v]) => {
      const tr = document.createElement('tr'); tr.append(text('td', k), text('td', v, 'num')); return tr
    }))
    if (body.rows.length === 0) { const tr = document.createElement('tr'); tr.append(text('td', '无 · none')); body.append(tr) }
  }

  async function refreshStats () {
    const { status, body: s } = await api('/console/api/stats').catch(() => ({ status: 0 }))
    if (status !== 200) return
    $('t-taps').textContent = s.taps; $('t-approved').textContent = s.approved; $('t-declined').textContent = s.declined
    const last10 = s.perSecond.approved.slice(-10).concat(s.perSecond.declined.slice(-10)).reduce((a, b) => a + b, 0)
    $('t-rate').textContent = (last10 / 10).toFixed(1)
    const labels = s.latency.bucketsMs.map(b => '≤' + b).concat(['>' + s.latency.bucketsMs.at(-1)])
    window.YktCharts.bars($('c-latency'), labels, s.latency.counts, '#2f6db3')
    window.YktCharts.lines($('c-rate'), [{ values: s.perSecond.approved, color: '#4caf7d' }, { values: s.perSecond.declined, color: '#e0675f' }])
    fillCounts('d-reason', s.declines.byReason); fillCounts('d-scenario', s.declines.byScenario)
    fillCounts('d-city', s.declines.byCity); fillCounts('d-rejected', s.rejected)
    $('terminals').tBodies[0].replaceChildren(...s.terminals.map(t => {
      const tr = document.createElement('tr')
      tr.append(text('td', t.terminal), text('td', t.city), text('td', t.scenario), text('td', t.lastSeenAt && new Date(t.lastSeenAt).toLocaleTimeString('zh-CN', { hour12: false })),
        text('td', t.lastDecision), text('td', t.taps, 'num'), text('td', t.declines, 'num'), text('td', t.rejected + (t.lastRejectedCode ? ' ' + t.lastRejectedCode : ''), 'num'),
        text('td', t.denyListVersion), text('td', t.offlineQueue))
      return tr
    }))
  }

  $('settle-form').addEventListener('submit', ev => { ev.preventDefault(); loadSettlement() })

  async function loadSettlement () {
    const from = $('s-from').value; const to = $('s-to').value
    const q = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`
    const { status, body } = await api('/v1/admin/settlement?' + q).catch(() => ({ status: 0 }))
    const rows = $('settle').tBodies[0]; const foot = $('settle').tFoot
    if (status !== 200) {
      rows.replaceChildren(); foot.replaceChildren()
      const tr = document.createElement('tr'); tr.append(text('td', `无法读取 · Could not read settlement (${status}${body?.error ? ' ' + body.error.code : ''})`)); rows.append(tr)
    } else {
      rows.replaceChildren(...body.rows.map(r => {
        const tr = document.createElement('tr')
        tr.append(text('td', r.city), text('td', r.operator), text('td', r.scenario), text('td', r.issuerCity), text('td', r.taps, 'num'),
          text('td', yuan(r.amount), 'num'), text('td', yuan(r.reversedAmount), 'num'), text('td', yuan(r.netAmount), 'num'))
        return tr
      }))
      const t = body.totals; const tr = document.createElement('tr')
      tr.append(text('th', '合计 · Total'), text('th', ''), text('th', ''), text('th', '跨城 · cross-city ¥' + yuan(t.crossCityNetAmount)), text('th', t.taps, 'num'),
        text('th', yuan(t.amount), 'num'), text('th', yuan(t.reversedAmount), 'num'), text('th', yuan(t.netAmount), 'num'))
      foot.replaceChildren(tr)
    }
    // The per-day API: is the last day of the range open or closed (a server without it: 404).
    const day = await api('/v1/admin/settlement/days/' + encodeURIComponent(to)).catch(() => ({ status: 0 }))
    $('settle-days').textContent = day.status === 200
      ? `${to}: ${day.body.status === 'closed' ? '已结算 · closed' : '未结算 · open'}`
      : day.status === 404 ? '按日结算接口尚未提供，显示区间汇总 · Per-day settlement is not available on this server yet; showing the range totals.'
        : `按日结算读取失败 · Per-day settlement could not be read (${day.status})`
  }
})()
