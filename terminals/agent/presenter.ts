// What the reader shows, beeps and lights for each outcome. Chinese first (the holder), English
// second (visitors from elsewhere); amounts in yuan from the service's fen.
import type { BeepPattern, LedPattern, ReaderCommands } from '../../src/reader/reader-commands.js'
import type { SinkOutcome } from './tap-sink.js'

export interface Presentation { text: string, beep?: BeepPattern, led?: LedPattern }

const APPROVED_BEEP: BeepPattern = { count: 1, onMs: 100, offMs: 0 }
const DECLINED_BEEP: BeepPattern = { count: 3, onMs: 80, offMs: 80 }
const FAULT_BEEP: BeepPattern = { count: 2, onMs: 300, offMs: 150 }

export const IDLE: Presentation = { text: '请刷卡或扫码\nTap card or scan QR', led: { durationMs: 0 } }
export const WAIT: Presentation = { text: '网络较慢 请稍候\nPlease wait…', led: { yellow: true, durationMs: 0 } }
export const READ_FAILED: Presentation = {
  text: '读卡失败 请重新刷卡\nCard read failed, tap again', beep: FAULT_BEEP, led: { red: true, durationMs: 1500 }
}
export const REMOVE_CARD: Presentation = { text: '请移开卡片\nPlease remove card' }

export function yuan (fen: number): string {
  return `¥${(fen / 100).toFixed(2)}`
}

export function presentOutcome (outcome: SinkOutcome): Presentation {
  switch (outcome.kind) {
    case 'decision': {
      const a = outcome.answer
      if (a.decision === 'approved') {
        // Nothing charged (a metro entry, a free ride): no "¥0.00", just the balance if any.
        const parts = [a.amount > 0 ? yuan(a.amount) : '', a.balance === undefined ? '' : `余额${yuan(a.balance)}`]
        const line2 = parts.filter(x => x !== '').join(' ')
        return { text: line2 === '' ? a.message.zh : `${a.message.zh}\n${line2}`, beep: APPROVED_BEEP, led: { green: true, durationMs: 1000 } }
      }
      return { text: `${a.message.zh}\n${a.message.en}`, beep: DECLINED_BEEP, led: { red: true, durationMs: 1500 } }
    }
    case 'unavailable':
      return { text: '网络异常 请重新刷卡\nNetwork error, tap again', beep: FAULT_BEEP, led: { red: true, durationMs: 1500 } }
    case 'offline':
      return presentOffline(outcome.decision, outcome.reason)
    case 'rejected':
      return { text: `终端故障 请联系工作人员\nTerminal error ${outcome.code}`, beep: FAULT_BEEP, led: { red: true, durationMs: 1500 } }
  }
}

/** Offline decline texts by reason (offline-decider.ts): what the holder can do about it. */
const OFFLINE_DECLINED: Record<string, string> = {
  OFFLINE_DENYLISTED: '卡片受限 请到窗口办理\nCard not accepted, see the counter',
  OFFLINE_RISK_LIMIT: '离线次数已满 请联网后使用\nOffline limit reached for this card',
  OFFLINE_QR: '网络异常 请刷实体卡\nOffline: please tap your card',
  OFFLINE_NO_DENYLIST: '网络异常 暂不能离线使用\nOffline: card cannot be checked',
  OFFLINE_DENYLIST_STALE: '离线时间过长 暂不能离线使用\nOffline too long: card cannot be checked',
  OFFLINE_QUEUE_FULL: '终端离线存储已满 请联系工作人员\nOffline storage full',
  OFFLINE_STORE_FAILED: '终端故障 请联系工作人员\nTerminal storage error'
}

function presentOffline (decision: 'approved' | 'declined', reason: string | undefined): Presentation {
  // The holder should know the ride is charged later: "离线" on the approval, no balance shown.
  if (decision === 'approved') return { text: '离线通过\nApproved offline', beep: APPROVED_BEEP, led: { green: true, durationMs: 1000 } }
  const text = OFFLINE_DECLINED[reason ?? ''] ?? '离线拒绝\nDeclined offline'
  return { text, beep: DECLINED_BEEP, led: { red: true, durationMs: 1500 } }
}

/**
 * Display first: it is what the holder waits for; LED and beep follow. Resolves with the time the
 * reader acknowledged the display (the end of the tap as the holder sees it).
 */
export async function show (reader: ReaderCommands, p: Presentation, now: () => number = Date.now): Promise<number> {
  await reader.display(p.text)
  const displayedAt = now()
  if (p.led !== undefined) await reader.led(p.led)
  if (p.beep !== undefined) await reader.beep(p.beep)
  return displayedAt
}
