/*
 * The agent's softphone in the page: JsSIP over WSS to the platform's Asterisk
 * (endpoint webrtc-<extension>, DTLS-SRTP, ICE without STUN/TURN).  See
 * docs/softphone.md.  Needs vendor/jssip.min.js (built by `hotline setup`).
 *
 *   HotlineSoftphone.start({wsUrl, uri, password, displayName})
 *   HotlineSoftphone.answer() / hangup() / hold(on) / mute(on) / dtmf(digit)
 *   HotlineSoftphone.transfer(target, {attended})  then completeTransfer() / cancelTransfer()
 *   HotlineSoftphone.call(target)                  e.g. the feature codes *71 / *72
 *   HotlineSoftphone.stats()                       a Promise of the call's audio packet counters
 *   HotlineSoftphone.state                         a snapshot: registration, call, held, muted, ...
 *
 * Events on `document`: softphone:registered, softphone:unregistered,
 * softphone:incoming, softphone:answered, softphone:ended, softphone:held,
 * softphone:transferred, softphone:transferfailed;
 * detail = {callId, linkedid, caller, callerName, origin, mode, dept, headers,
 * direction, cause}, taken from the INVITE: the screen pop travels in its
 * X-Hotline-* headers (asterisk_conf/templates/extensions_routes.conf.j2,
 * agent-predial).  Nothing from the network is ever put into the page as HTML.
 */
(function () {
  'use strict';

  var LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;
  var ua = null;
  var config = null;
  var current = null;   // the call the agent works on
  var consult = null;   // the second leg of an attended transfer
  var audio = null;
  // renegotiating: a hold or unhold re-INVITE is in flight.  JsSIP takes no second one then
  // (isReadyToReOffer) and ends the call with "WebRTC Error" when a re-INVITE fails, so the page
  // offers hold again only once the last one is done.
  var state = {registration: 'stopped', call: 'idle', held: false, muted: false,
               callId: null, linkedid: null, consult: 'idle', renegotiating: false};

  function emit(name, detail) {
    document.dispatchEvent(new CustomEvent('softphone:' + name, {detail: detail}));
  }

  function hotlineHeaders(request) {
    var out = {};
    if (!request || !request.headers) { return out; }
    Object.keys(request.headers).forEach(function (name) {
      if (/^x-hotline-/i.test(name)) { out[name] = request.getHeader(name); }
    });
    return out;
  }

  function header(headers, name) {
    var key = Object.keys(headers).filter(function (k) { return k.toLowerCase() === name; })[0];
    return key === undefined ? null : headers[key];
  }

  function decode(value) {
    if (value === null) { return null; }
    try { return decodeURIComponent(value); } catch (e) { return value; }
  }

  function details(session, cause) {
    var info = session ? session.hotline : null;
    if (!info) {
      return {callId: null, linkedid: null, caller: null, callerName: null, origin: null, mode: null,
              dept: null, headers: {}, direction: null, cause: cause || null};
    }
    return Object.assign({}, info, {headers: Object.assign({}, info.headers), cause: cause || null});
  }

  function describe(session, request, direction) {
    var headers = direction === 'incoming' ? hotlineHeaders(request) : {};
    var from = request && request.from ? request.from : null;
    session.hotline = {
      callId: request ? request.call_id : null,
      linkedid: header(headers, 'x-hotline-linkedid'),
      caller: from && from.uri ? from.uri.user : null,
      callerName: from ? from.display_name || null : null,
      origin: header(headers, 'x-hotline-origin'),
      mode: header(headers, 'x-hotline-mode'),
      dept: decode(header(headers, 'x-hotline-dept')),
      headers: headers,
      direction: direction
    };
  }

  // keep only candidates on the addresses that can reach Asterisk, ours and
  // Asterisk's: with a loopback WSS URL the agent sits on the platform's host
  // and Asterisk's RTP is bound to loopback, whatever interface addresses its
  // offer names; its connectivity checks then come from loopback (a
  // peer-reflexive candidate) and the media stays there
  function allowedAddresses() {
    if (config.iceAddresses) { return config.iceAddresses; }
    var host = new URL(config.wsUrl).hostname.replace(/^\[|\]$/g, '');
    return LOOPBACK.test(host) ? ['127.0.0.1', '::1'] : null;
  }

  function filterCandidates(sdp) {
    var allowed = allowedAddresses();
    if (!allowed) { return sdp; }
    return sdp.split('\r\n').filter(function (line) {
      if (line.indexOf('a=candidate:') !== 0) { return true; }
      var address = line.split(' ')[4];
      return allowed.indexOf(address) >= 0;
    }).join('\r\n');
  }

  function playRemote(session) {
    var pc = session.connection;
    if (!pc) { return; }
    var stream = new MediaStream();
    pc.getReceivers().forEach(function (r) { if (r.track) { stream.addTrack(r.track); } });
    if (!audio) {
      audio = document.createElement('audio');
      audio.autoplay = true;
      audio.setAttribute('data-softphone', 'remote');
      audio.hidden = true;
      document.body.appendChild(audio);
    }
    audio.srcObject = stream;
    var played = audio.play();
    if (played && played.catch) { played.catch(function () { /* autoplay refused: no sound until a click */ }); }
  }

  function setCall(session, call) {
    if (session !== current) { return; }
    state.call = call;
    if (call === 'idle') {
      state.held = false; state.muted = false; state.callId = null; state.linkedid = null;
      state.renegotiating = false;
    } else {
      state.callId = session.hotline.callId; state.linkedid = session.hotline.linkedid;
    }
  }

  function watch(session) {
    session.on('sdp', function (e) {
      e.sdp = filterCandidates(e.sdp);
    });
    // host candidates only: stop gathering shortly after the first one
    session.on('icecandidate', function (e) {
      if (!session.iceTimer) { session.iceTimer = setTimeout(e.ready, 500); }
    });
    session.on('accepted', function () {
      session.audioSender = session.connection.getSenders().filter(function (x) {
        return x.track && x.track.kind === 'audio';
      })[0] || null;
      playRemote(session);
      if (session === consult) { state.consult = 'active'; return; }
      setCall(session, 'active');
      emit('answered', details(session));
    });
    session.on('hold', function (e) {
      if (session === current && e.originator === 'local') { state.held = true; emit('held', details(session)); }
    });
    session.on('unhold', function (e) {
      if (session === current && e.originator === 'local') { state.held = false; emit('held', details(session)); }
    });
    function over(e) {
      var cause = e && e.cause ? e.cause : null;
      if (session === consult) {
        consult = null; state.consult = 'idle';
        return;
      }
      if (session !== current) { return; }
      setCall(session, 'idle');
      current = null;
      emit('ended', details(session, cause));
    }
    session.on('ended', over);
    session.on('failed', over);
  }

  // the transfer target took the call (NOTIFY 2xx): this leg is done
  function referred(session) {
    return {
      accepted: function () {
        emit('transferred', details(session));
        if (!session.isEnded()) { session.terminate(); }
      },
      failed: function (e) { emit('transferfailed', details(session, e && e.cause)); },
      requestFailed: function (e) { emit('transferfailed', details(session, e && e.cause)); }
    };
  }

  function mediaOptions() {
    return {mediaConstraints: {audio: true, video: false},
            pcConfig: {iceServers: [], rtcpMuxPolicy: 'require', bundlePolicy: 'max-bundle'}};
  }

  function target(to) {
    to = String(to);
    if (/^sips?:/i.test(to)) { return to; }
    return 'sip:' + to + '@' + ua.configuration.uri.host;
  }

  function need(session, what) {
    if (!session) { throw new Error('softphone: no call to ' + what); }
    return session;
  }

  var api = {
    start: function (options) {
      if (!window.JsSIP) { throw new Error('softphone: vendor/jssip.min.js is not loaded (run hotline setup)'); }
      ['wsUrl', 'uri', 'password'].forEach(function (k) {
        if (!options || !options[k]) { throw new Error('softphone: start() needs ' + k); }
      });
      if (ua) { ua.stop(); }
      config = Object.assign({}, options);
      ua = new window.JsSIP.UA({
        sockets: [new window.JsSIP.WebSocketInterface(config.wsUrl)],
        uri: config.uri, password: config.password, display_name: config.displayName || undefined,
        register: true, register_expires: 300, session_timers: false, user_agent: 'hotline-softphone'
      });
      state.registration = 'registering';
      ua.on('registered', function () { state.registration = 'registered'; emit('registered', details(null)); });
      ua.on('unregistered', function (e) {
        state.registration = 'unregistered'; emit('unregistered', details(null, e && e.cause));
      });
      ua.on('registrationFailed', function (e) {
        state.registration = 'failed'; emit('unregistered', details(null, e && e.cause));
      });
      ua.on('newRTCSession', function (e) {
        var incoming = e.originator === 'remote';
        describe(e.session, e.request, incoming ? 'incoming' : 'outgoing');
        watch(e.session);
        if (!incoming) { return; }
        if (current) { e.session.terminate({status_code: 486, reason_phrase: 'Busy Here'}); return; }
        current = e.session;
        setCall(current, 'ringing');
        emit('incoming', details(current));
      });
      ua.start();
      return api;
    },
    stop: function () { if (ua) { ua.stop(); ua = null; state.registration = 'stopped'; } },
    answer: function () {
      var s = need(current, 'answer');
      if (state.call !== 'ringing') { throw new Error('softphone: the call is not ringing'); }
      s.answer(mediaOptions());
    },
    call: function (to) {
      if (!ua) { throw new Error('softphone: start() first'); }
      if (current) { throw new Error('softphone: already on a call'); }
      current = ua.call(target(to), mediaOptions());
      setCall(current, 'calling');
      return details(current);
    },
    hangup: function () {
      var s = need(current, 'hang up');
      if (!s.isEnded()) { s.terminate(); }
    },
    hold: function (on) {
      var s = need(current, 'hold');
      if (state.renegotiating || !s.isReadyToReOffer()) { throw new Error('softphone: the last hold is still in progress'); }
      function done() {
        if (s !== current) { return; }
        state.renegotiating = false;
        emit('held', details(s));
      }
      state.renegotiating = true;
      var sent = on ? s.hold({}, done) : s.unhold({}, done);
      if (!sent) { state.renegotiating = false; }
    },
    // muting stops sending audio (the RTP stream pauses: Asterisk sees no packets)
    mute: function (on) {
      var s = need(current, 'mute');
      var sender = s.audioSender;
      if (!sender) { throw new Error('softphone: the call has no audio to mute yet'); }
      if (on && !s.mutedTrack) {
        s.mutedTrack = sender.track;
        sender.replaceTrack(null);
      } else if (!on && s.mutedTrack) {
        sender.replaceTrack(s.mutedTrack);
        s.mutedTrack = null;
      }
      state.muted = !!on;
    },
    dtmf: function (digit) {
      need(current, 'send DTMF to').sendDTMF(String(digit), {transportType: 'RFC2833', duration: 120});
    },
    // blind: REFER now.  attended: the caller waits on hold while the agent
    // talks to the target; completeTransfer() joins them, cancelTransfer() returns
    transfer: function (to, options) {
      var s = need(current, 'transfer');
      if (!(options && options.attended)) { s.refer(target(to), {eventHandlers: referred(s)}); return; }
      if (consult) { throw new Error('softphone: a transfer is already in progress'); }
      if (!s.isOnHold().local) { s.hold(); }
      consult = ua.call(target(to), mediaOptions());
      state.consult = 'calling';
    },
    completeTransfer: function () {
      var s = need(current, 'transfer');
      if (!consult || state.consult !== 'active') { throw new Error('softphone: the transfer target has not answered'); }
      s.refer(consult.remote_identity.uri.toString(), {replaces: consult, eventHandlers: referred(s)});
    },
    // the call's audio: {packetsSent, packetsReceived, bytesSent, bytesReceived, codec,
    // localAddress, remoteAddress} (the ICE pair in use)
    stats: function () {
      var s = need(current, 'measure');
      if (!s.connection) { return Promise.resolve(null); }
      return s.connection.getStats().then(function (report) {
        var out = {packetsSent: 0, packetsReceived: 0, bytesSent: 0, bytesReceived: 0, codec: null,
                   localAddress: null, remoteAddress: null};
        var codecs = {};
        report.forEach(function (r) { if (r.type === 'codec') { codecs[r.id] = r.mimeType; } });
        report.forEach(function (r) {
          if (r.type === 'transport' && r.selectedCandidatePairId) {
            var pair = report.get(r.selectedCandidatePairId);
            var local = pair && report.get(pair.localCandidateId);
            var remote = pair && report.get(pair.remoteCandidateId);
            out.localAddress = local ? local.address + ':' + local.port : null;
            out.remoteAddress = remote ? remote.address + ':' + remote.port : null;
          }
          if (r.kind !== 'audio') { return; }
          if (r.type === 'outbound-rtp') {
            out.packetsSent += r.packetsSent || 0; out.bytesSent += r.bytesSent || 0;
            out.codec = codecs[r.codecId] || out.codec;
          } else if (r.type === 'inbound-rtp') {
            out.packetsReceived += r.packetsReceived || 0; out.bytesReceived += r.bytesReceived || 0;
          }
        });
        return out;
      });
    },
    cancelTransfer: function () {
      if (consult && !consult.isEnded()) { consult.terminate(); }
      if (current && current.isOnHold().local) { current.unhold(); }
    }
  };
  Object.defineProperty(api, 'state', {
    enumerable: true,
    get: function () { return Object.assign({}, state); }
  });
  window.HotlineSoftphone = api;
}());
