// The agent's tap poster is the terminal SDK's (terminals/sdk/): one signing and answer-parsing
// path for the agent, the SDK's users and the example.
export { tapPoster, type PostResult, type TapAnswer, type TapClientOptions, type TapPoster } from '../sdk/tap-poster.js'
