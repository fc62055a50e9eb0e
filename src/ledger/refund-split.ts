// Where a refund of a tap's charge goes, part by part. A tap charged bankFen + medicalFen from the
// card's accounts and debtFen it could not pay (offline). A refund first cancels what is still
// owed of that debt (the card never paid it: giving money back for it would create money), then
// returns money to the bank account, then to the medical account: a partial refund undoes the
// last part paid first (modules list medical first, so the holder's own money comes back first).
export interface ChargeParts { bankFen: number, medicalFen: number, debtFen: number }

/**
 * @param amountFen what to refund, 0 < amountFen ≤ what is left of the charge
 * @param left the charge's parts not yet refunded
 * @param cardDebtFen what the card owes now: debt repaid since (by a credit) comes back as money
 */
export function splitRefund (amountFen: number, left: ChargeParts, cardDebtFen: number): ChargeParts {
  const leftTotal = left.bankFen + left.medicalFen + left.debtFen
  if (!Number.isSafeInteger(amountFen) || amountFen <= 0 || amountFen > leftTotal) throw new RangeError(`refund of ${amountFen} fen against ${leftTotal} left`)
  let rest = amountFen
  const debtFen = Math.min(rest, left.debtFen, cardDebtFen)
  rest -= debtFen
  // Debt of this tap that the card has since repaid is money the card paid: it returns to bank.
  const bankRoomFen = left.bankFen + (left.debtFen - debtFen)
  const bankFen = Math.min(rest, bankRoomFen)
  rest -= bankFen
  const medicalFen = Math.min(rest, left.medicalFen)
  rest -= medicalFen
  if (rest !== 0) throw new RangeError('refund parts do not add up')
  return { bankFen, medicalFen, debtFen }
}
