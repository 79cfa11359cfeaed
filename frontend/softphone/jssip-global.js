// The one entry point of the bundle: JsSIP as window.JsSIP for
// web/static/softphone/softphone.js (which is plain, committed source).
import JsSIP from 'jssip';

window.JsSIP = JsSIP;
