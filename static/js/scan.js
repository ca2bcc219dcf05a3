// Scan to check in: open the rear camera, decode QR codes in the page (the browser's
// BarcodeDetector where it reads QR codes, else jsQR from static/vendor), and POST the text to
// the server, which decides what the code is and answers JSON. Also refreshes "my check-in code".
(function () {
  'use strict';

  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute('content') : '';

  function postJSON(url, body) {
    return fetch(url, {
      method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf,
                'Accept': 'application/json'},
      body: JSON.stringify(body)
    }).then(function (response) {
      var type = response.headers.get('Content-Type') || '';
      if (type.indexOf('application/json') === -1) {
        // A CSRF failure, the login page after the session ran out, a proxy error...
        return {status: response.status, data: null};
      }
      return response.json().then(function (data) {
        return {status: response.status, data: data};
      });
    });
  }

  // --- my check-in code: a new image every minute, each valid for `lifetime` seconds ---------
  var codeBox = document.getElementById('my-code-box');
  if (codeBox) {
    var img = document.getElementById('my-code');
    var expiry = document.getElementById('my-code-expiry');
    var label = document.getElementById('my-code-label').getAttribute('data-text');
    var lifetime = parseInt(codeBox.getAttribute('data-lifetime'), 10) || 300;
    var pad = function (n) { return (n < 10 ? '0' : '') + n; };
    var refresh = function () {
      img.src = codeBox.getAttribute('data-url') + '?t=' + Date.now();
      var until = new Date(Date.now() + lifetime * 1000);
      expiry.textContent = label.replace('__T__', pad(until.getHours()) + ':' +
        pad(until.getMinutes()) + ':' + pad(until.getSeconds()));
    };
    window.setInterval(refresh, Math.min(60, lifetime / 2) * 1000);
    document.addEventListener('visibilitychange', function () {
      if (!document.hidden) { refresh(); }
    });
  }

  // --- the scanner --------------------------------------------------------------------------
  var root = document.getElementById('scanner');
  var locationButton = document.getElementById('scan-set-location');
  if (locationButton) {
    locationButton.addEventListener('click', function () {
      if (!navigator.geolocation) { window.alert(root.getAttribute('data-msg-nogeo')); return; }
      navigator.geolocation.getCurrentPosition(function (pos) {
        postJSON(locationButton.getAttribute('data-url'),
                 {latitude: pos.coords.latitude, longitude: pos.coords.longitude})
          .then(function (r) {
            window.alert(r.data ? (r.data.message || r.data.error.message)
                                : root.getAttribute('data-msg-failed'));
          });
      }, function (err) { window.alert(err.message); },
      {enableHighAccuracy: true, timeout: 15000});
    });
  }
  if (!root) { return; }

  var mode = root.getAttribute('data-mode');
  var url = root.getAttribute('data-url');
  var video = document.getElementById('scan-video');
  var canvas = document.getElementById('scan-canvas');
  var statusEl = document.getElementById('scan-status');
  var resultEl = document.getElementById('scan-result');
  var againButton = document.getElementById('scan-again');
  var startButton = document.getElementById('scan-start');
  var geoBox = document.getElementById('scan-geo');
  var msg = function (name) { return root.getAttribute('data-msg-' + name); };

  var detector = null;   // BarcodeDetector, when it reads QR codes here
  var scanning = false;
  var busy = false;
  var lastText = null;
  var lastAt = 0;
  var position = null;   // the phone's, for the location check (member mode, optional)

  function show(kind, text) {
    resultEl.className = 'alert alert-' + kind;
    resultEl.textContent = text;
  }

  function watchPosition() {
    if (!geoWanted()) { return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      position = {latitude: pos.coords.latitude, longitude: pos.coords.longitude};
    }, function () { position = null; },
    {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
  }

  function geoWanted() {
    return mode === 'member' && geoBox && geoBox.checked && navigator.geolocation;
  }

  function currentPosition() {
    // The position asked for at load, or (not there yet) a few seconds' wait for one.
    if (!geoWanted()) { return Promise.resolve(null); }
    if (position) { return Promise.resolve(position); }
    return new Promise(function (resolve) {
      navigator.geolocation.getCurrentPosition(function (pos) {
        position = {latitude: pos.coords.latitude, longitude: pos.coords.longitude};
        resolve(position);
      }, function () { resolve(null); }, {enableHighAccuracy: true, timeout: 3000,
                                           maximumAge: 60000});
    });
  }

  function submit(text) {
    busy = true;
    statusEl.textContent = msg('sending');
    currentPosition().then(function (pos) {
      var body = {code: text};
      if (pos) {
        body.latitude = pos.latitude;
        body.longitude = pos.longitude;
      }
      return postJSON(url, body);
    }).then(function (r) {
      if (r.data && r.data.ok) {
        show(r.data.far ? 'warning' : 'success', r.data.message);
        var countIn = document.getElementById('count-in');
        if (countIn && r.data.checked_in !== undefined) {
          countIn.textContent = r.data.checked_in;
          document.getElementById('count-claimed').textContent = r.data.claimed;
        }
      } else if (r.data && r.data.error) {
        show('danger', r.data.error.message);
      } else {
        show('danger', r.status === 400 ? msg('expired') : msg('failed'));
      }
    }, function () {
      show('danger', msg('failed'));
    }).then(function () {
      busy = false;
      if (mode === 'staff') {
        // Staff scan one member after another: carry on, but not with the same code at once.
        statusEl.textContent = msg('ready');
      } else {
        stop();
        againButton.hidden = false;
        statusEl.textContent = '';
      }
    });
  }

  function found(text) {
    if (!text || busy) { return; }
    var now = Date.now();
    // A member's code stays in front of the staff's camera for a while: the same code again
    // within 90 s would check them straight out. (Their page shows a new code every minute.)
    if (text === lastText && now - lastAt < 90000) { return; }
    lastText = text;
    lastAt = now;
    submit(text);
  }

  function decodeFrame() {
    if (!video.videoWidth) { return Promise.resolve(null); }
    if (detector) {
      return detector.detect(video).then(function (codes) {
        return codes.length ? codes[0].rawValue : null;
      }, function () { return null; });
    }
    if (!window.jsQR) { return Promise.resolve(null); }
    var scale = Math.min(1, 640 / Math.max(video.videoWidth, video.videoHeight));
    var w = Math.round(video.videoWidth * scale);
    var h = Math.round(video.videoHeight * scale);
    canvas.width = w;
    canvas.height = h;
    var ctx = canvas.getContext('2d', {willReadFrequently: true});
    ctx.drawImage(video, 0, 0, w, h);
    var code = window.jsQR(ctx.getImageData(0, 0, w, h).data, w, h,
                           {inversionAttempts: 'attemptBoth'});
    return Promise.resolve(code ? code.data : null);
  }

  function loop() {
    if (!scanning) { return; }
    if (busy) { window.setTimeout(loop, 250); return; }
    decodeFrame().then(function (text) {
      if (text) { found(text); }
      window.setTimeout(loop, 200);
    });
  }

  function stop() {
    scanning = false;
    var stream = video.srcObject;
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
    video.srcObject = null;
  }

  function loadJsQR() {
    if (window.jsQR) { return Promise.resolve(); }
    return new Promise(function (resolve, reject) {
      var s = document.createElement('script');
      s.src = root.getAttribute('data-jsqr');
      s.onload = resolve;
      s.onerror = reject;
      document.head.appendChild(s);
    });
  }

  function chooseDecoder() {
    if ('BarcodeDetector' in window && window.BarcodeDetector.getSupportedFormats) {
      return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
        if (formats.indexOf('qr_code') !== -1) {
          detector = new window.BarcodeDetector({formats: ['qr_code']});
          return null;
        }
        return loadJsQR();
      }, loadJsQR);
    }
    return loadJsQR();
  }

  function start() {
    startButton.hidden = true;
    againButton.hidden = true;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      statusEl.textContent = msg('nocamera');
      return;
    }
    chooseDecoder().then(function () {
      return navigator.mediaDevices.getUserMedia({
        audio: false, video: {facingMode: {ideal: 'environment'}, width: {ideal: 1280}}});
    }).then(function (stream) {
      video.srcObject = stream;
      return video.play();
    }).then(function () {
      scanning = true;
      root.setAttribute('data-scanning', '1');
      statusEl.textContent = msg('ready');
      loop();
    }).catch(function () {
      statusEl.textContent = msg('nocamera');
      startButton.hidden = false;
    });
  }

  againButton.addEventListener('click', function () {
    resultEl.className = 'alert d-none';
    lastText = null;
    watchPosition();
    start();
  });
  startButton.addEventListener('click', start);
  if (geoBox) { geoBox.addEventListener('change', watchPosition); }
  watchPosition();
  start();
})();
