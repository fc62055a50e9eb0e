// Public venues (museums, galleries, sports venues): free or priced per venue, one entry per card
// per venue per day, concessions as data. Same rules as scenic areas (see scenic.ts), with their own
// tariff files (fixtures/tariffs/museum.json, sports-venue.json) and their own state keys
// (`venue:entry:<venue>:<ticket>`).
import { createEntryModule } from './scenic.js'

export const venueEntry = createEntryModule('venue-entry', 'venue', {
  welcome: { zh: '欢迎入馆', en: 'Welcome' },
  reentry: { zh: '今日已入馆，本次不再收费', en: 'Already entered today: no charge this time' }
})
