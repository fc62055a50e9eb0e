// The one registry of decline reasons rule modules may give, each with one meaning and the zh/en
// message terminals show. A module lists the codes it uses (`reasonsFor`), so /v1/scenarios
// documents exactly those, and the README's table is checked against this registry by a test
// (test/rules/reasons.test.ts). The api-v1 fixed codes stay in engine.ts `CORE_REASONS`.
import type { Message } from './types.js'

export const MODULE_REASONS = {
  // ---- any module with a per-city tariff ----
  NOT_OFFERED_HERE: { zh: '本市未开通该业务', en: 'This service is not offered in this city' },
  NOT_ELIGIBLE: { zh: '持卡人不符合办理条件', en: 'The holder does not qualify for this service' },
  // ---- amounts ----
  AMOUNT_REQUIRED: { zh: '缺少金额', en: 'The amount is missing' },
  AMOUNT_LIMIT: { zh: '金额超出单笔限额', en: 'The amount is outside the per-payment limits' },
  DAILY_LIMIT: { zh: '超出当日累计限额', en: 'Over the daily limit' },
  TAP_TOO_OLD: { zh: '交易时间过早，不能计入限额', en: 'The tap is dated too far back to count against the limits' },
  REFERENCE_REQUIRED: { zh: '缺少缴费户号或单号', en: 'The bill, order or customer number is missing' },
  // ---- medical ----
  BASKET_SUM_MISMATCH: { zh: '金额与药品明细合计不符', en: 'The amount does not equal the sum of the items' },
  SELF_PAID_OVER_TOTAL: { zh: '自费金额大于结算总额', en: 'The self-paid part is more than the total' },
  POLICY_UNKNOWN: { zh: '无参保地医保政策', en: 'No policy for the insured city' },
  NOT_INSURED: { zh: '未参加基本医疗保险', en: 'The holder has no basic medical insurance' },
  NO_WORK_INJURY_CASE: { zh: '无工伤认定记录', en: 'No work-injury determination on record' },
  HOSPITAL_GRADE_REQUIRED: { zh: '缺少医院等级', en: 'The hospital grade is missing' },
  // ---- identity checks ----
  ALREADY_CHECKED: { zh: '本期已完成认证', en: 'Already done for this period' },
  // ---- venues ----
  VENUE_UNKNOWN: { zh: '终端所在场馆未登记票价或规则', en: 'The terminal\'s venue has no tariff' },
  TICKET_UNKNOWN: { zh: '该场馆没有此票种', en: 'This venue has no such ticket' },
  ALREADY_ENTERED: { zh: '今日已入场', en: 'Already entered today' },
  // ---- libraries ----
  DUPLICATE_ITEM: { zh: '同一册图书重复出现', en: 'The same item appears twice' },
  ALREADY_ON_LOAN: { zh: '该图书已在您的借阅中', en: 'This item is already on loan to you' },
  LOAN_LIMIT: { zh: '超过可借册数', en: 'Too many items on loan' },
  LOAN_VALUE_LIMIT: { zh: '超过可借图书总价', en: 'Total value of items on loan is over the limit' },
  NOT_ON_LOAN: { zh: '该图书不在您的借阅中', en: 'This item is not on loan to you' },
  RENEWAL_LIMIT: { zh: '已达续借次数上限', en: 'No more renewals allowed' },
  OVERDUE: { zh: '有逾期未还图书，请先归还', en: 'An item is overdue: please return it first' },
  OVERDUE_FEES: { zh: '逾期费用已达限额，请先归还并缴清', en: 'Overdue fees have reached the limit: please return and pay first' },
  // ---- transit ----
  DUPLICATE_TAP: { zh: '已刷卡，请勿重复刷卡', en: 'Card already tapped here' },
  NO_ENTRY: { zh: '无进站记录，请到服务中心处理', en: 'No entry recorded for this card: please see station staff' },
  STATION_UNKNOWN: { zh: '终端未登记在本市地铁车站', en: 'Terminal is not registered at a metro station of this city' },
  BELOW_MINIMUM_BALANCE: { zh: '余额不足最低票价，请充值', en: 'Balance below the minimum fare: please top up' },
  PASS_UNKNOWN: { zh: '本市地铁没有此票种', en: 'This city\'s metro sells no such pass' }
} as const satisfies Record<string, Message>

export type ReasonCode = keyof typeof MODULE_REASONS

/** The registry's entries for the codes a module declines with. */
export function reasonsFor (...codes: ReasonCode[]): Record<string, Message> {
  return Object.fromEntries(codes.map(code => [code, MODULE_REASONS[code]]))
}
