/* The LIFF pages: sign in through LIFF, call /liff/api with the ID token, render in Thai
 * (English on request). Plain JavaScript; every value from the server is put in the page
 * as text (textContent), never as markup. */
(function () {
  'use strict';

  // The page's settings, as JSON data rather than an inline script (the CSP allows none).
  var cfg = JSON.parse(document.getElementById('liff-config').textContent);
  var LANG_KEY = 'authencode.liff.lang';
  var DEV_USER_KEY = 'authencode.liff.devUser';
  var lang = safeGet(LANG_KEY) === 'en' ? 'en' : 'th';
  var idToken = null;
  var rerender = null; // the current page's redraw after a language switch

  // English for the Thai text the templates carry (data-i18n keys).
  var EN = {
    'brand': 'Authen Code · Visit code',
    'loading': 'Loading…',
    'retry': 'Try again',
    'nav.request': 'Get code', 'nav.history': 'History', 'nav.family': 'Family',
    'nav.rights': 'Rights', 'nav.mydata': 'My data',
    'mydata.title': 'My data',
    'mydata.hint': 'Everything the service holds about you and this LINE account. On screen ' +
      'ID numbers and phones are partly hidden; the download has your own data in full.',
    'mydata.generated': 'As of', 'mydata.download': 'Download my data (JSON)',
    'mydata.print': 'Print / save as PDF', 'mydata.account': 'LINE account',
    'mydata.links': 'People this account is linked to', 'mydata.codes': 'Visit codes (newest first)',
    'mydata.consent': 'Consent history', 'mydata.linked_by': 'Other LINE accounts linked to you',
    'mydata.pcu': 'Primary care unit change requests', 'mydata.erasures': 'Past erasures',
    'withdraw.title': 'Withdraw consent',
    'withdraw.hint': 'After withdrawing you cannot get visit codes through LINE until you consent and ' +
      'register again. You can still get a code at the clinic counter with your ID card.',
    'withdraw.removes': 'What is removed', 'withdraw.keeps': 'What is kept, and why',
    'withdraw.button': 'Withdraw consent',
    'withdraw.question': 'Withdraw consent? Every person linked to this LINE account will be removed.',
    'withdraw.yes': 'Yes, withdraw consent', 'withdraw.no': 'No, keep using the service',
    'erase.title': 'Erase my data',
    'erase.hint': 'When you confirm, the following is removed at once and this LINE account is ' +
      'unregistered again (you can register again later).',
    'erase.removes': 'What is removed', 'erase.keeps': 'What the law requires us to keep, and why',
    'erase.button': 'Erase my data', 'erase.again': 'Give consent and register',
    'consent.title': 'Consent to collect, use and disclose personal data',
    'consent.thai_only': 'The consent text below is the legal text in Thai.',
    'consent.accept': 'Accept', 'consent.decline': 'Decline',
    'consent.declined_title': 'You did not give consent',
    'consent.declined_text': 'You cannot use the LINE visit code service. You can still get a ' +
      'code at the clinic counter with your ID card.',
    'consent.hotline': 'Questions: NHSO hotline 1330 (24 hours)',
    'consent.reread': 'Read the consent again',
    'register.title': 'Register',
    'registered.title': 'You are registered',
    'registered.linked': 'This LINE account is now linked to',
    'registered.cid': 'Citizen ID', 'registered.level': 'Verification',
    'registered.next': 'What to do next',
    'registered.next_scan': 'At the clinic, tap "Get a visit code" and scan the QR code at the counter; ' +
      'the code shows on screen and in your LINE chat.',
    'registered.next_family': 'You can get codes for your family too: add them under "Family" (up to 5 people).',
    'registered.continue': 'Go to get a visit code', 'registered.family': 'Add a family member',
    'register.hint': 'Enter your own citizen ID, birth date and mobile number.',
    'register.billing': 'Used for claims: please enter it correctly',
    'register.submit': 'Register', 'register.terms': 'Terms of use',
    'register.term_right': 'You hold universal coverage (UCS) rights or no right on record',
    'register.term_age': 'You are at least 15 full years old',
    'register.term_self': 'Register with your own citizen ID first; then add up to 5 family members',
    'field.cid': 'Citizen ID (13 digits)', 'field.phone': 'Mobile number',
    'field.phone_placeholder': 'Your mobile number', 'field.relation': 'Relation',
    'field.birth_date': 'Birth date (day/month/year)',
    'field.birth_date_placeholder': 'e.g. 17/05/1990',
    'request.who': 'Who is the patient?', 'request.add_other': '+ Add another person',
    'request.qr_title': "Get a code with the clinic's QR code", 'request.for': 'For',
    'request.use_qr': 'Get the code at this clinic',
    'request.scan_other': 'Scan another QR code instead',
    'dev.qr_title': 'Development: pick a demo QR code instead of the camera', 'dev.qr_cancel': 'Cancel',
    'request.scan': 'Get a visit code',
    'request.scan_hint': 'Tap, then scan the QR code of the service at the clinic',
    'code.label': 'Visit code (Authen Code)',
    'code.again': 'You already got this code today (same code).',
    'code.person': 'Name', 'code.facility': 'Facility', 'code.service': 'Service',
    'code.time': 'Date and time',
    'code.show_staff': 'Show this code to the clinic staff. It was also sent to your LINE chat.',
    'today.title': "Today's requests", 'history.link': 'All requests',
    'history.page_title': 'Visit history', 'history.title': 'Request history',
    'family.title': 'People you can get codes for', 'family.count': 'Family members',
    'family.add': 'Add another person',
    'family.full': 'You have added 5 people. Remove one to add someone new.',
    'family.submit': 'Add person',
    'relation.choose': 'Choose a relation',
    'rights.title': 'Check rights',
    'pcu.title': 'Change the primary care unit (by yourself)',
    'pcu.search': 'Find a facility (name or 5-digit code)',
    'pcu.submit': 'Ask to change the primary care unit',
    'family.linked_by': 'Other LINE accounts linked to you',
    'linked.title': 'LINE accounts linked to you',
    'linked.hint': 'Other LINE accounts that added you to get visit codes for you. You may remove any of them.',
    'linked.codes': 'Codes asked for in your name through other LINE accounts',
    'linked.codes_hint': 'If you did not ask for a code, tap "This was not me": that account loses its link to you and the facility is asked to review the code.'
  };
  // Relation and self labels come from the server's one definition (authencode.reference),
  // rendered into the page (cfg.reference); rights come with the API's answers.
  cfg.reference.relations.forEach(function (r) { EN['relation.' + r.code] = r.en; });
  function relationLabels(language) {
    var labels = { self: cfg.reference.self[language] };
    cfg.reference.relations.forEach(function (r) { labels[r.code] = r[language]; });
    return labels;
  }

  // Text made by the script, in both languages.
  var MSG = {
    th: {
      working: 'กำลังดำเนินการ…', none: 'ไม่พบข้อมูล', self: cfg.reference.self.th,
      code_for: 'เพื่อเข้ารับบริการ', at: 'หน่วยบริการ', date: 'วันที่', time: 'เวลา',
      cancelled: 'ยกเลิกแล้ว', main_right: 'สิทธิ์ที่ใช้เบิก', sub_right: 'สิทธิ์ย่อย',
      cid: 'เลขบัตร', phone: 'โทร', remove: 'ลบ', confirm_remove: 'แตะอีกครั้งเพื่อยืนยันการลบ',
      thaid: 'ยืนยันตัวตนด้วย ThaID',
      all: 'ทั้งหมด', added: 'เพิ่มบุคคลเรียบร้อยแล้ว',
      level: 'ระดับการยืนยัน', eligible: 'การใช้บริการ',
      eligible_yes: 'มีสิทธิใช้บริการนี้', eligible_no: 'สิทธิที่บันทึกไว้ไม่ใช่สิทธิสำหรับบริการนี้',
      checked: 'ตรวจสอบเมื่อ',
      choose_facility: 'กรุณาเลือกหน่วยบริการ',
      pcu_sent: 'ส่งคำขอเปลี่ยนหน่วยบริการปฐมภูมิแล้ว รอเจ้าหน้าที่ทะเบียนพิจารณา',
      scan_unavailable: 'เปิดกล้องสแกนไม่ได้ในหน้าจอนี้ กรุณาเปิดจากแอป LINE บนมือถือ ' +
        'หรือใช้กล้องมือถือสแกนคิวอาร์โค้ดของหน่วยบริการ',
      scan_failed: 'สแกนคิวอาร์โค้ดไม่สำเร็จ กรุณาลองใหม่อีกครั้ง',
      network: 'ไม่สามารถเชื่อมต่อระบบได้ กรุณาตรวจสอบอินเทอร์เน็ตแล้วลองใหม่',
      sdk_missing: 'โหลดระบบ LINE (LIFF) ไม่สำเร็จ กรุณาลองใหม่อีกครั้ง',
      not_configured: 'ระบบยังไม่ได้ตั้งค่า LIFF กรุณาติดต่อผู้ดูแลระบบ',
      verify_button: 'ยืนยันตัวตนที่หน่วยบริการ',
      verify_hint: 'แสดงรหัสนี้พร้อมบัตรประชาชนที่จุดบริการ ใช้ได้ครั้งเดียว ถึงเวลา ',
      relation: relationLabels('th')
    },
    en: {
      working: 'Working…', none: 'Nothing found', self: cfg.reference.self.en,
      code_for: 'For', at: 'Facility', date: 'Date', time: 'Time',
      cancelled: 'Cancelled', main_right: 'Main right', sub_right: 'Sub right',
      cid: 'ID', phone: 'Phone', remove: 'Remove', confirm_remove: 'Tap again to remove',
      thaid: 'Verify with ThaID',
      all: 'All', added: 'The person was added.',
      level: 'Verification', eligible: 'Service',
      eligible_yes: 'Eligible for this service', eligible_no: 'Not eligible for this service',
      checked: 'Checked',
      choose_facility: 'Please choose a facility.',
      pcu_sent: 'The primary care unit change request was sent; the registry office will decide on it.',
      scan_unavailable: 'The scanner cannot open here. Open this page in the LINE app on ' +
        'your phone, or scan the clinic QR code with your phone camera.',
      scan_failed: 'Scanning failed. Please try again.',
      network: 'Cannot reach the server. Check your connection and try again.',
      sdk_missing: 'Could not load LINE (LIFF). Please try again.',
      not_configured: 'LIFF is not configured. Please contact the administrator.',
      verify_button: 'Verify at a clinic counter',
      verify_hint: 'Show this code with the ID card at the counter; one use, valid until ',
      relation: relationLabels('en')
    }
  };

  function m(key) { return MSG[lang][key]; }
  // Unit roles (main / primary care / referral) from authencode.reference; the words about
  // unit changes come with the API's answers (authencode.services.unit_words).
  function unitRole(role) { return cfg.reference.units[role][lang]; }
  function said(item, key) { return item[key + '_' + lang] || item[key + '_th']; }
  function safeGet(key) { try { return window.localStorage.getItem(key); } catch (e) { return null; } }
  function safeSet(key, value) { try { window.localStorage.setItem(key, value); } catch (e) { /* private mode */ } }
  function $(selector, root) { return (root || document).querySelector(selector); }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === 'text') { node.textContent = attrs[name]; } else { node.setAttribute(name, attrs[name]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  // --- language -----------------------------------------------------------------------
  function applyLang() {
    document.documentElement.lang = lang;
    document.querySelectorAll('[data-i18n]').forEach(function (node) {
      if (node.dataset.th === undefined) { node.dataset.th = node.textContent; }
      var key = node.getAttribute('data-i18n');
      node.textContent = lang === 'en' ? (EN[key] || node.dataset.th) : node.dataset.th;
    });
    document.querySelectorAll('[data-i18n-placeholder]').forEach(function (node) {
      if (node.dataset.thPlaceholder === undefined) { node.dataset.thPlaceholder = node.placeholder; }
      var key = node.getAttribute('data-i18n-placeholder');
      node.placeholder = lang === 'en' ? (EN[key] || node.dataset.thPlaceholder) : node.dataset.thPlaceholder;
    });
    document.querySelectorAll('[data-lang-only]').forEach(function (node) {
      node.hidden = node.getAttribute('data-lang-only') !== lang;
    });
    $('#lang-switch').textContent = lang === 'th' ? 'EN' : 'ไทย';
    if (rerender) { rerender(); }
  }

  // --- errors -------------------------------------------------------------------------
  function ApiError(status, info) {
    this.status = status;
    this.code = info.code || 'ERROR';
    this.info = info;
  }

  function errorText(err) {
    if (err instanceof ApiError) { return lang === 'en' ? err.info.message : err.info.message_th; }
    return m('network');
  }

  // An error the person must see: scrolled to the middle of the screen (never below the fold
  // or under the fixed tab bar) and focused, so a screen reader reads it (role=alert).
  function reveal(node) {
    if (!node.hasAttribute('tabindex')) { node.setAttribute('tabindex', '-1'); }
    node.scrollIntoView({ block: 'center', inline: 'nearest' });
    try { node.focus({ preventScroll: true }); } catch (e) { node.focus(); }
  }

  function showAlert(node, err) {
    node.textContent = typeof err === 'string' ? err : errorText(err);
    if (err instanceof ApiError) { node.setAttribute('data-code', err.code); } else { node.removeAttribute('data-code'); }
    node.hidden = false;
    reveal(node);
  }

  function clearAlert(node) { node.hidden = true; node.textContent = ''; node.removeAttribute('data-code'); }

  function showPageError(err) {
    $('#loading').hidden = true;
    $('#content').hidden = true;
    var box = $('#page-error');
    $('#page-error-text').textContent = typeof err === 'string' ? err : errorText(err);
    if (err instanceof ApiError) { box.setAttribute('data-code', err.code); }
    box.hidden = false;
    reveal(box);
  }

  function setBusy(button, busy) {
    if (busy) {
      button.dataset.label = button.textContent;
      button.textContent = m('working');
      button.disabled = true;
      button.setAttribute('aria-busy', 'true');
    } else {
      if (button.dataset.label !== undefined) { button.textContent = button.dataset.label; }
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }

  // --- LIFF sign-in and the API -------------------------------------------------------
  function devToken() {
    // `?dev_user=U...` lets the development LINE simulator open the pages as its own user.
    var body = { user_id: params().get('dev_user') || safeGet(DEV_USER_KEY) || '' };
    return fetch(cfg.devTokenUrl, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body)
    }).then(function (res) { return res.json(); }).then(function (data) {
      safeSet(DEV_USER_KEY, data.user_id);
      return { getIDToken: data.id_token };
    });
  }

  function signIn() {
    var liff = window.liff;
    if (!liff) { return Promise.reject(m('sdk_missing')); }
    if (!cfg.liffId) { return Promise.reject(m('not_configured')); }
    if (cfg.mode === 'mock') {
      // Development and tests: LINE's own mock plugin stands in for the LINE app. The ID
      // token it returns is a real ES256 token (tests sign it; `make run` asks the
      // development signer), so the server checks it exactly as in production.
      liff.use(new window.LiffMockPlugin());
      return liff.init({ liffId: cfg.liffId, mock: true }).then(function () {
        var given = window.AUTHENCODE_LIFF_MOCK;
        return given ? given : (cfg.devTokenUrl ? devToken() : {});
      }).then(function (data) {
        liff.$mock.set(function (prev) {
          return Object.assign({}, prev, { isLoggedIn: true, isInClient: true }, data);
        });
        idToken = liff.getIDToken();
        return true;
      });
    }
    return liff.init({ liffId: cfg.liffId }).then(function () {
      if (new URLSearchParams(location.search).has('liff.state')) { return false; } // LIFF moves on
      if (!liff.isLoggedIn()) { liff.login({ redirectUri: location.href }); return false; }
      idToken = liff.getIDToken();
      return true;
    });
  }

  function api(method, path, body) {
    var options = {
      method: method,
      headers: { 'Authorization': 'Bearer ' + idToken, 'Accept': 'application/json' }
    };
    if (body !== undefined) {
      options.headers['Content-Type'] = 'application/json';
      options.body = JSON.stringify(body);
    }
    return fetch(cfg.apiBase + path, options).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (data) {
        if (res.ok) { return data; }
        var info = (data && data.error) || {
          code: 'HTTP_' + res.status, message: MSG.en.network, message_th: MSG.th.network
        };
        if (info.code === 'LIFF_TOKEN_EXPIRED' && cfg.mode === 'line') {
          window.liff.logout();
          window.liff.login({ redirectUri: location.href });
        }
        throw new ApiError(res.status, info);
      });
    });
  }

  // --- navigation ---------------------------------------------------------------------
  function params() { return new URLSearchParams(location.search); }

  function go(page, extra) {
    var query = new URLSearchParams();
    var qr = params().get('qr');
    if (qr) { query.set('qr', qr); }
    Object.keys(extra || {}).forEach(function (k) { query.set(k, extra[k]); });
    var qs = query.toString();
    location.href = cfg.urls[page] + (qs ? '?' + qs : '');
    return 'redirect';
  }

  // --- shared pieces ------------------------------------------------------------------
  function personName(p) {
    return (lang === 'en' ? (p.name_en || p.name) : p.name) || p.masked_cid || '';
  }
  function levelText(p) { return lang === 'en' ? p.level_en : p.level_th; }
  // Under the chips: the chosen person's level and, unless verified, how to verify.
  function showLevel(container, p) {
    var note = container.parentNode.querySelector('.level-note');
    if (!note) {
      note = el('p', { 'class': 'level-note alert alert-info', role: 'status' });
      container.parentNode.insertBefore(note, container.nextSibling);
    }
    note.hidden = !p;
    if (!p) { return; }
    note.setAttribute('data-level', p.level);
    note.textContent = levelText(p) + (p.level_note_th ? '\n' + p.level_note_th : '');
  }
  function relationLabel(code) { return m('relation')[code] || code; }
  function rightText(r) { return r ? (lang === 'en' ? r.display_en : r.display_th) : '-'; }

  function renderPeople(container, members, selected, onChange, withAll) {
    container.textContent = '';
    var options = members.map(function (p) {
      return { id: String(p.id), label: personName(p) + (p.is_self ? ' (' + m('self') + ')' : '') +
               (p.level === 'verified' ? '' : ' · ' + levelText(p)) };
    });
    if (withAll) { options.unshift({ id: '', label: m('all') }); }
    function level(id) { showLevel(container, members.find(function (p) { return String(p.id) === id; })); }
    options.forEach(function (opt) {
      var chip = el('button', {
        type: 'button', 'class': 'chip', role: 'radio', 'data-member': opt.id,
        'aria-checked': String(opt.id === String(selected)), text: opt.label
      });
      chip.addEventListener('click', function () {
        container.querySelectorAll('.chip').forEach(function (c) { c.setAttribute('aria-checked', 'false'); });
        chip.setAttribute('aria-checked', 'true');
        level(opt.id);
        onChange(opt.id);
      });
      container.appendChild(chip);
    });
    level(String(selected));
  }

  // A date or time from the server in the reader's calendar: `x_be` (Buddhist era) in Thai,
  // `x_en` (Common Era) in English, both made by authencode.thaidate.
  function when(obj, key) {
    var value = obj[key + (lang === 'en' ? '_en' : '_be')];
    return value === null || value === undefined ? '' : value;
  }
  function fiscalYear(r) { return lang === 'en' ? r.fiscal_year : r.fiscal_year_be; }

  function splitWhen(text) {  // '22/11/2569 10:15:03' → date, 'HH:MM'
    var parts = (text || '').split(' ');
    return { date: parts[0] || '', time: (parts[1] || '').slice(0, 5) };
  }

  function codeItem(c) {
    var at = splitWhen(when(c, 'service_at'));
    var service = lang === 'en' ? c.service_name_en : c.service_name_th;
    var item = el('li', { 'class': c.status === 'active' ? 'code-row' : 'code-row cancelled', 'data-code': c.code }, [
      el('div', { 'class': 'code', text: 'Authencode ' + c.code }),
      el('div', { text: m('code_for') + ' ' + service }),
      el('div', { 'class': 'meta', text: m('at') + ' ' + c.facility_name + ' (' + c.hcode + ')' }),
      el('div', { 'class': 'meta', text: personName({ name: c.person_name, name_en: c.person_name_en }) }),
      el('div', { 'class': 'meta', text: m('date') + ' ' + at.date + ' ' + m('time') + ' ' + at.time })
    ]);
    if (c.status !== 'active') { item.appendChild(el('div', { 'class': 'badge', text: m('cancelled') })); }
    return item;
  }

  function renderCodes(list, codes) {
    list.textContent = '';
    if (!codes.length) { list.appendChild(el('li', { 'class': 'empty', text: m('none') })); return; }
    codes.forEach(function (c) { list.appendChild(codeItem(c)); });
  }

  function facts(dl, rows) {
    dl.textContent = '';
    rows.forEach(function (row) {
      dl.appendChild(el('dt', { text: row[0] }));
      dl.appendChild(el('dd', { text: row[1] || '-', 'data-field': row[2] || '' }));
    });
  }

  function formValues(form) {
    var values = {};
    new FormData(form).forEach(function (value, key) { values[key] = String(value).trim(); });
    return values;
  }

  function submitForm(errorBox, button, send) {
    clearAlert(errorBox);
    setBusy(button, true);
    return send().then(function (result) {
      setBusy(button, false);
      return result;
    }, function (err) {
      setBusy(button, false);
      showAlert(errorBox, err);
      return null;
    });
  }

  // --- pages --------------------------------------------------------------------------
  var PAGES = {};

  PAGES.consent = function (me) {
    var next = params().get('next') || 'request';
    if (!cfg.urls[next]) { next = 'request'; }
    if (me.consent.given) { return go(me.self ? next : 'register'); }
    var card = $('#consent-card');
    var declined = $('#consent-declined');
    var version = me.consent.version;
    function decide(decision, button) {
      return submitForm($('.form-error', card), button, function () {
        return api('POST', '/consent', { decision: decision, version: version });
      }).then(function (result) {
        if (!result) { return; }
        if (decision === 'accept') { go(me.self ? next : 'register'); return; }
        card.hidden = true;
        declined.hidden = false;
      });
    }
    $('#consent-accept').addEventListener('click', function (e) { decide('accept', e.currentTarget); });
    $('#consent-decline').addEventListener('click', function (e) { decide('decline', e.currentTarget); });
    $('#consent-reread').addEventListener('click', function () { declined.hidden = true; card.hidden = false; });
    return api('GET', '/consent').then(function (c) {
      version = c.version;
      // The heading already shows the title the text starts with.
      $('#consent-text').textContent = c.text_th.replace(c.title_th, '').trim();
    });
  };

  PAGES.register = function (me) {
    if (me.self) { return go('request'); }
    var form = $('#register-form');
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var values = formValues(form);
      submitForm($('.form-error', form), $('button[type=submit]', form), function () {
        return api('POST', '/register', { cid: values.cid, phone: values.phone,
                                          birthDate: values.birthDate });
      }).then(function (result) {
        if (!result) { return; }
        if (result.notice) {  // the ID is another LINE account's own: how to reclaim it
          var notice = $('#register-notice');
          notice.textContent = lang === 'en' ? result.notice.message : result.notice.message_th;
          notice.hidden = false;
          form.querySelectorAll('input, button').forEach(function (n) { n.disabled = true; });
          return;
        }
        showRegistered(result.member);
      });
    });
    // Who was linked (name, masked ID, level and how to verify), and what to do next.
    var linked = null;
    function showRegistered(member) {
      linked = member;
      $('#register-card').hidden = true;
      $('#terms-card').hidden = true;
      $('#registered-name').textContent = personName(member);
      $('#registered-cid').textContent = member.masked_cid;
      $('#registered-level').textContent = levelText(member);
      var note = $('#registered-level-note');
      note.textContent = member.level_note_th || '';
      note.hidden = !member.level_note_th;
      var qr = params().get('qr');  // opened from a clinic QR: carry on with it
      if (qr) { $('#registered-continue').href = cfg.urls.request + '?qr=' + encodeURIComponent(qr); }
      var card = $('#registered');
      card.hidden = false;
      reveal($('#registered-title'));
    }
    rerender = function () { if (linked) { showRegistered(linked); } };
  };

  PAGES.request = function (me) {
    var members = me.members;
    var wanted = params().get('member');
    var selected = String((members.find(function (p) { return String(p.id) === wanted; }) || me.self).id);
    var qr = params().get('qr');
    var lastCode = null;
    var errorBox = $('#request-error');

    function drawRights() {
      var person = members.find(function (p) { return String(p.id) === selected; });
      var rows = [[m('level'), levelText(person), 'level']];
      if (person.main_right) {
        rows.push([m('main_right'), rightText(person.main_right), 'main_right'],
                  [m('sub_right'), rightText(person.sub_right), 'sub_right']);
      } else if (person.eligible !== null) {
        rows.push([m('eligible'), person.eligible ? m('eligible_yes') : m('eligible_no'), 'eligible']);
      }
      rows.push([m('cid'), person.masked_cid, 'masked_cid']);
      facts($('#person-rights'), rows);
    }
    function drawPeople() {
      renderPeople($('#people'), members, selected, function (id) { selected = id; drawRights(); drawPending(); });
      drawRights();
    }
    function showCode(code, again) {
      lastCode = { code: code, again: again };
      $('#code-value').textContent = code.code;
      $('#code-person').textContent = personName({ name: code.person_name, name_en: code.person_name_en }) +
        ' (' + code.masked_cid + ')';
      $('#code-facility').textContent = code.facility_name + ' (' + code.hcode + ')';
      $('#code-service').textContent = (lang === 'en' ? code.service_name_en : code.service_name_th) +
        ' [' + code.service_code + ']';
      $('#code-time').textContent = when(code, 'service_at');
      $('#code-again').hidden = !again;
      var result = $('#result');
      result.hidden = false;
      result.scrollIntoView({ block: 'start' });
    }
    function loadToday() {
      return api('GET', '/codes').then(function (data) { renderCodes($('#today-list'), data.today); });
    }
    function send(text, button, box) {
      clearAlert(box);
      setBusy(button, true);
      return api('POST', '/codes', { member_id: Number(selected), scanned: text }).then(function (data) {
        setBusy(button, false);
        showCode(data.code, !data.created);
        loadToday();
        return true;
      }, function (err) {
        setBusy(button, false);
        $('#result').hidden = true;
        showAlert(box, err);
        if (err instanceof ApiError && /^QR_/.test(err.code) && text === qr) { qrGone(); }
        return false;
      });
    }

    // A clinic QR opened with the phone's camera: say which clinic and service it asks for,
    // with one primary action (ask for the code); scanning another QR is the secondary one.
    var preview = null;
    function drawPending() {
      var pending = Boolean(qr);
      $('#qr-pending').hidden = !pending;
      $('#scan').hidden = pending;
      $('#scan-hint').hidden = pending;
      $('#scan-other').hidden = !pending;
      if (!preview) { return; }
      $('#qr-facility').textContent = preview.facility_name + ' (' + preview.hcode + ')';
      $('#qr-service').textContent = (lang === 'en' ? preview.service_name_en : preview.service_name_th) +
        ' [' + preview.service_code + ']';
      var person = members.find(function (p) { return String(p.id) === selected; });
      $('#qr-person').textContent = person ? personName(person) : '-';
    }
    function qrGone() {  // refused for good (expired, forged...): scanning again is the way on
      qr = null;
      preview = null;
      $('#qr-loading').hidden = true;
      $('#use-qr').hidden = true;
      $('#qr-details').hidden = true;
      $('#scan').hidden = false;
      $('#scan-hint').hidden = false;
      $('#scan-other').hidden = true;
      history.replaceState(null, '', cfg.urls.request);
    }
    function loadPreview() {
      if (!qr) { return null; }
      return api('GET', '/qr?scanned=' + encodeURIComponent(qr)).then(function (data) {
        preview = data;
        $('#qr-loading').hidden = true;
        $('#qr-details').hidden = false;
        $('#use-qr').hidden = false;
        drawPending();
      }, function (err) {
        showAlert($('#qr-error'), err);
        qrGone();
      });
    }

    $('#use-qr').addEventListener('click', function (e) {
      send(qr, e.currentTarget, $('#qr-error')).then(function (ok) {
        if (!ok) { return; }
        qr = null;
        preview = null;
        $('#qr-pending').hidden = true;
        drawPending();
        history.replaceState(null, '', cfg.urls.request);
      });
    });
    function scan(button) {
      clearAlert(errorBox);
      var liff = window.liff;
      if (cfg.mode === 'line' && !liff.isApiAvailable('scanCodeV2')) {
        showAlert(errorBox, m('scan_unavailable'));
        return;
      }
      var ready = cfg.mode === 'mock' && cfg.devQrUrl ? pickDemoQr() : Promise.resolve(true);
      ready.then(function (go) {
        if (!go) { return; }
        liff.scanCodeV2().then(function (result) {
          var value = result && result.value;
          if (value) { send(value, button, errorBox); }
        }, function () { showAlert(errorBox, m('scan_failed')); });
      }, function (err) { showAlert(errorBox, err); });
    }
    $('#scan').addEventListener('click', function (e) { scan(e.currentTarget); });
    $('#scan-other').addEventListener('click', function (e) { scan(e.currentTarget); });
    rerender = function () {
      drawPeople();
      drawPending();
      if (lastCode) { showCode(lastCode.code, lastCode.again); }
      loadToday();
    };
    drawPeople();
    drawPending();
    return Promise.all([loadToday(), loadPreview()]);
  };

  // Development only (`make run`, no LINE): LINE's mock scanner has no camera, so the page
  // offers the demo clinic's counter QRs, freshly signed by the server, and hands the chosen
  // one to the mock's scanCodeV2. Production pages have no devQrUrl and no mock at all.
  function pickDemoQr() {
    var picker = $('#dev-qr-picker');
    var list = $('#dev-qr-list');
    return fetch(cfg.devQrUrl, { method: 'POST' }).then(function (res) {
      if (!res.ok) { throw new ApiError(res.status, {}); }
      return res.json();
    }).then(function (data) {
      return new Promise(function (resolve) {
        list.textContent = '';
        function done(value) {
          picker.hidden = true;
          if (value) {
            window.liff.$mock.set(function (p) { return Object.assign({}, p, { scanCode: { value: value } }); });
          }
          resolve(Boolean(value));
        }
        data.qrs.forEach(function (q) {
          var choice = el('button', { type: 'button', 'class': 'choice', 'data-service': q.service_code,
                                      text: q.facility_name + ' · ' + (lang === 'en' ? q.service_name_en : q.service_name_th) +
                                            ' [' + q.service_code + ']' });
          choice.addEventListener('click', function () { done(q.url); });
          list.appendChild(choice);
        });
        if (!data.qrs.length) { list.appendChild(el('p', { 'class': 'empty', text: m('none') })); }
        $('#dev-qr-cancel').onclick = function () { done(null); };
        picker.hidden = false;
        picker.scrollIntoView({ block: 'nearest' });
      });
    });
  }

  PAGES.history = function (me) {
    var selected = '';
    function load() {
      var query = selected ? '?member_id=' + encodeURIComponent(selected) : '';
      return api('GET', '/codes' + query).then(function (data) {
        renderCodes($('#today-list'), data.today);
        renderCodes($('#history-list'), data.history);
      }, function (err) {  // a pending link shows no codes at all
        if (!(err instanceof ApiError)) { throw err; }
        renderCodes($('#today-list'), []);
        renderCodes($('#history-list'), []);
      });
    }
    function draw() { renderPeople($('#people'), me.members, selected, function (id) { selected = id; load(); }, true); }
    rerender = function () { draw(); load(); };
    draw();
    return load();
  };

  PAGES.family = function (me) {
    var members = me.members;
    var form = $('#family-form');
    function draw() {
      var list = $('#member-list');
      list.textContent = '';
      members.forEach(function (p) {
        var info = el('div', {}, [
          el('div', { 'class': 'name', text: personName(p) }),
          el('div', { 'class': 'meta', text: relationLabel(p.relation) + ' · ' + m('cid') + ' ' + p.masked_cid }),
          el('div', { 'class': 'meta', text: m('phone') + ' ' + p.phone_masked }),
          el('div', { 'class': 'level', 'data-level': p.level, text: levelText(p) }),
          p.level_note_th ? el('div', { 'class': 'meta level-note', text: p.level_note_th }) : null
        ]);
        var row = el('div', { 'class': 'row' }, [info]);
        // ThaID (when the server offers it) for a link not yet verified; the server refuses
        // a guardian's link to a child under 15 with a Thai message shown below the list.
        if (me.thaid && p.level && p.level !== 'verified') {
          var thaid = el('button', { type: 'button', 'class': 'btn btn-secondary btn-small',
                                     text: m('thaid'), 'data-thaid': String(p.id) });
          thaid.addEventListener('click', function () {
            clearAlert($('#family-list-error'));
            setBusy(thaid, true);
            api('POST', '/members/' + p.id + '/thaid').then(function (data) {
              window.location.assign(data.authorization_url);
            }, function (err) {
              setBusy(thaid, false);
              showAlert($('#family-list-error'), err);
            });
          });
          row.appendChild(thaid);
        }
        var item = el('li', { 'data-member': String(p.id) }, [row]);
        if (p.level && p.level !== 'verified') { item.appendChild(verifyAtCounter(p)); }
        if (!p.is_self) {
          var remove = el('button', { type: 'button', 'class': 'btn btn-danger btn-small', text: m('remove'),
                                      'data-remove': String(p.id) });
          remove.addEventListener('click', function () {
            if (remove.dataset.confirm !== '1') {
              remove.dataset.confirm = '1';
              remove.textContent = m('confirm_remove');
              return;
            }
            clearAlert($('#family-list-error'));
            setBusy(remove, true);
            api('DELETE', '/members/' + p.id).then(reload, function (err) {
              setBusy(remove, false);
              showAlert($('#family-list-error'), err);
            });
          });
          row.appendChild(remove);
        }
        list.appendChild(item);
      });
      var family = members.filter(function (p) { return !p.is_self; }).length;
      $('#family-count').textContent = family + '/' + me.max_family;
      var full = family >= me.max_family;
      $('#family-full').hidden = !full;
      form.querySelectorAll('input, select, button').forEach(function (n) { n.disabled = full; });
    }
    function reload() {
      return api('GET', '/members').then(function (data) { members = data.members; draw(); });
    }
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var values = formValues(form);
      submitForm($('.form-error', form), $('button[type=submit]', form), function () {
        return api('POST', '/members', { cid: values.cid, phone: values.phone,
                                         birthDate: values.birthDate, relation: values.relation });
      }).then(function (result) {
        if (!result) { return; }
        form.reset();
        reload();
      });
    });
    rerender = draw;
    draw();
  };

  // A one-time code for the clinic counter: six digits and a QR of them, for one person.
  function verifyAtCounter(p) {
    var box = el('div', { 'class': 'verify-counter' });
    var button = el('button', { type: 'button', 'class': 'btn btn-small', text: m('verify_button'),
                                'data-verify': String(p.id) });
    var shown = el('div', { 'class': 'verify-code', hidden: 'hidden' });
    var error = el('div', { 'class': 'alert alert-error', role: 'alert', hidden: 'hidden' });
    button.addEventListener('click', function () {
      clearAlert(error);
      setBusy(button, true);
      api('POST', '/members/' + p.id + '/verification-code').then(function (data) {
        setBusy(button, false);
        shown.textContent = '';
        var qr = el('div', { 'class': 'verify-qr' });
        // An SVG document the server drew from six digits, parsed as SVG, never as HTML.
        var svg = new DOMParser().parseFromString(data.qr_svg, 'image/svg+xml').documentElement;
        if (svg.nodeName === 'svg') { qr.appendChild(document.importNode(svg, true)); }
        shown.appendChild(el('p', { 'class': 'code-large', text: data.code }));
        shown.appendChild(qr);
        shown.appendChild(el('p', { 'class': 'hint', text: m('verify_hint') + data.expires_at.slice(11, 16) }));
        shown.hidden = false;
      }, function (err) { setBusy(button, false); showAlert(error, err); });
    });
    [button, shown, error].forEach(function (n) { box.appendChild(n); });
    return box;
  }

  PAGES.rights = function (me) {
    var selected = String(me.self.id);
    var chosenHcode = null;
    var current = null;
    var facilities = [];
    var form = $('#pcu-form');
    function drawRights() {
      if (!current) { return; }
      var r = current;
      function unit(u) { return u ? u.label : '-'; }
      form.hidden = !r.detail;
      $('#pcu-quota').hidden = !r.detail;
      if (!r.detail) {  // an unverified link sees only whether the right allows the service
        facts($('#rights-detail'), [
          [m('level'), levelText(r), 'level'],
          [m('eligible'), r.eligible ? m('eligible_yes') : m('eligible_no'), 'eligible'],
          [m('cid'), r.masked_cid, 'masked_cid']
        ]);
        $('#pcu-pending').hidden = true;
        return;
      }
      facts($('#rights-detail'), [
        [m('level'), levelText(r), 'level'],
        [m('main_right'), rightText(r.main_right), 'main_right'],
        [m('sub_right'), rightText(r.sub_right), 'sub_right'],
        [unitRole('hosp_main'), unit(r.hosp_main), 'hosp_main'],
        [unitRole('hosp_sub'), unit(r.hosp_sub), 'hosp_sub'],
        [unitRole('hosp_main_op'), unit(r.hosp_main_op), 'hosp_main_op'],
        [m('cid'), r.masked_cid, 'masked_cid'],
        [m('checked'), when(r, 'checked_at'), 'checked']
      ]);
      $('#pcu-quota').textContent = said(r.pcu_change, 'quota');
      var pending = r.pcu_change.pending;
      var box = $('#pcu-pending');
      box.hidden = !pending;
      box.textContent = '';
      if (pending) {
        box.appendChild(el('p', { text: said(pending, 'text'), 'data-field': 'pending' }));
        box.appendChild(el('p', { text: said(pending, 'main_unchanged'), 'data-field': 'main_unchanged' }));
      }
      $('button[type=submit]', form).disabled = Boolean(pending) || r.pcu_change.remaining <= 0;
    }
    function loadRights() {
      $('#rights-loading').hidden = false;
      clearAlert($('#rights-error'));
      return api('GET', '/members/' + selected + '/rights').then(function (data) {
        $('#rights-loading').hidden = true;
        current = data;
        drawRights();
      }, function (err) {  // e.g. a pending link: say why, keep the page usable
        $('#rights-loading').hidden = true;
        current = null;
        $('#rights-detail').textContent = '';
        showAlert($('#rights-error'), err);
      });
    }
    function drawFacilities() {
      var list = $('#facility-list');
      list.textContent = '';
      facilities.forEach(function (f) {
        var choice = el('button', { type: 'button', 'class': 'choice', role: 'radio', 'data-hcode': f.hcode,
                                    'aria-checked': String(f.hcode === chosenHcode),
                                    text: f.label });
        choice.addEventListener('click', function () { chosenHcode = f.hcode; drawFacilities(); });
        list.appendChild(choice);
      });
      if (!facilities.length) { list.appendChild(el('p', { 'class': 'empty', text: m('none') })); }
    }
    var timer = null;
    function search() {
      var q = $('#facility-search').value.trim();
      return api('GET', '/facilities?q=' + encodeURIComponent(q)).then(function (data) {
        facilities = data.facilities;
        drawFacilities();
      });
    }
    $('#facility-search').addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(search, 300);
    });
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var errorBox = $('.form-error', form);
      if (!chosenHcode) { showAlert(errorBox, m('choose_facility')); return; }
      submitForm(errorBox, $('button[type=submit]', form), function () {
        return api('POST', '/pcu-changes', { member_id: Number(selected), hcode: chosenHcode });
      }).then(function (result) { if (result) { chosenHcode = null; drawFacilities(); loadRights(); } });
    });
    function drawPeople() {
      renderPeople($('#people'), me.members, selected, function (id) { selected = id; loadRights(); });
    }
    rerender = function () { drawPeople(); drawRights(); drawFacilities(); };
    drawPeople();
    return Promise.all([loadRights(), search()]);
  };

  // --- the person's own say (issue 17): who has linked me, "this was not me" -----------
  PAGES.linked_by = function () {
    var T = {
      th: { other: 'บัญชี LINE อื่น', since: 'ตั้งแต่', approve: 'อนุมัติ', decline: 'ไม่อนุมัติ',
            unlink: 'ยกเลิกการเชื่อมโยง', confirm: 'แตะอีกครั้งเพื่อยืนยัน', not_me: 'ไม่ใช่ฉัน',
            disputed: 'แจ้งว่าไม่ได้ขอแล้ว', nobody: 'ยังไม่มีบัญชี LINE อื่นเชื่อมโยงกับท่าน',
            level: { pending: 'รออนุมัติจากท่าน', claimed: 'ยังไม่ยืนยันตัวตน', verified: 'ยืนยันตัวตนแล้ว' } },
      en: { other: 'Another LINE account', since: 'since', approve: 'Approve', decline: 'Decline',
            unlink: 'Remove link', confirm: 'Tap again to confirm', not_me: 'This was not me',
            disputed: 'Reported as not requested', nobody: 'No other LINE account has linked you.',
            level: { pending: 'Waiting for your approval', claimed: 'Not verified', verified: 'Verified' } }
    };
    var data = { links: [], codes: [] };
    function t(key) { return T[lang][key]; }
    function confirmed(button) {
      if (button.dataset.confirm === '1') { return true; }
      button.dataset.confirm = '1';
      button.textContent = t('confirm');
      return false;
    }
    function act(button, call) {
      clearAlert($('#linked-error'));
      setBusy(button, true);
      return call().then(load, function (err) { setBusy(button, false); showAlert($('#linked-error'), err); });
    }
    function drawLinks() {
      var list = $('#linked-list');
      list.textContent = '';
      if (!data.links.length) { list.appendChild(el('li', { 'class': 'empty', text: t('nobody') })); }
      data.links.forEach(function (l) {
        var row = el('div', { 'class': 'row' }, [el('div', {}, [
          el('div', { 'class': 'name', text: t('other') }),
          el('div', { 'class': 'meta', text: relationLabel(l.relation) + ' · ' + t('level')[l.level] + ' · ' +
                                             t('since') + ' ' + when(l, 'since') })
        ])]);
        if (l.approval_id) {
          ['approve', 'decline'].forEach(function (decision) {
            var b = el('button', { type: 'button', 'class': 'btn btn-small ' +
                                   (decision === 'approve' ? 'btn-primary' : 'btn-secondary'),
                                   text: t(decision), 'data-decide': decision });
            b.addEventListener('click', function () {
              act(b, function () { return api('POST', '/approvals/' + l.approval_id, { decision: decision }); });
            });
            row.appendChild(b);
          });
        }
        var remove = el('button', { type: 'button', 'class': 'btn btn-danger btn-small', text: t('unlink'),
                                    'data-unlink': String(l.id) });
        remove.addEventListener('click', function () {
          if (confirmed(remove)) { act(remove, function () { return api('DELETE', '/linked-by/' + l.id); }); }
        });
        row.appendChild(remove);
        list.appendChild(el('li', { 'data-link': String(l.id), 'data-level': l.level }, [row]));
      });
    }
    function drawCodes() {
      var list = $('#other-codes');
      renderCodes(list, data.codes);
      list.querySelectorAll('li[data-code]').forEach(function (item, i) {
        var c = data.codes[i];
        if (c.disputed) { item.appendChild(el('div', { 'class': 'badge', text: t('disputed') })); return; }
        var b = el('button', { type: 'button', 'class': 'btn btn-danger btn-small', text: t('not_me'),
                               'data-not-me': String(c.id) });
        b.addEventListener('click', function () {
          if (!confirmed(b)) { return; }
          act(b, function () {
            return api('POST', '/not-me', { code_id: c.id }).then(function (r) {
              var box = $('#not-me-result');
              box.textContent = said(r, 'message');
              box.hidden = false;
            });
          });
        });
        item.appendChild(b);
      });
    }
    function draw() { drawLinks(); drawCodes(); }
    function load() {
      return api('GET', '/linked-by').then(function (d) { data = d; draw(); });
    }
    rerender = draw;
    return load();
  };

  // --- my data (issue 22): everything held, as JSON and printable; erasure ------------
  PAGES.mydata = function () {
    var T = {
      th: { none: 'ไม่มี', line_id: 'รหัสผู้ใช้ LINE', since: 'เริ่มใช้เมื่อ', consent: 'ความยินยอม',
            given: 'ให้ความยินยอมแล้ว', not_given: 'ยังไม่ได้ให้ความยินยอม', registered: 'การลงทะเบียน',
            yes: 'ลงทะเบียนแล้ว', no: 'ยังไม่ได้ลงทะเบียน', verified_at: 'ยืนยันเมื่อ', added: 'เพิ่มเมื่อ',
            version: 'ฉบับ', channel: 'ช่องทาง', photo: 'มีรูปถ่าย', through: 'ขอผ่านบัญชีนี้',
            disputed: 'แจ้งว่าไม่ได้ขอ', fiscal: 'ปีงบประมาณ', decided: 'พิจารณาเมื่อ',
            confirm: 'แตะอีกครั้งเพื่อยืนยันการลบข้อมูล', done: 'ลบข้อมูลเรียบร้อยแล้ว',
            again: 'คำขอนี้ดำเนินการไปแล้ว', removed: 'ลบแล้ว', kept: 'เก็บไว้',
            dialogue: 'บทสนทนาที่ค้างอยู่',
            withdrawn: 'ถอนความยินยอมเรียบร้อยแล้ว รายชื่อบุคคลที่ผูกกับบัญชีนี้ถูกลบแล้ว และได้แจ้งในแชต LINE ของท่าน',
            withdrawn_before: 'ท่านถอนความยินยอมไว้แล้ว' },
      en: { none: 'None', line_id: 'LINE user id', since: 'Since', consent: 'Consent',
            given: 'Given', not_given: 'Not given', registered: 'Registration',
            yes: 'Registered', no: 'Not registered', verified_at: 'verified', added: 'added',
            version: 'version', channel: 'channel', photo: 'photo held', through: 'asked from this account',
            disputed: 'reported as not requested', fiscal: 'fiscal year', decided: 'decided',
            confirm: 'Tap again to erase your data', done: 'Your data was erased.',
            again: 'This erasure was already done.', removed: 'Removed', kept: 'Kept',
            dialogue: 'Unfinished chat dialogue',
            withdrawn: 'Consent withdrawn. The persons linked to this account were removed; your LINE chat has a note of it.',
            withdrawn_before: 'You had already withdrawn consent.' }
    };
    var data = null;
    function t(key) { return T[lang][key]; }
    function label(x) { return lang === 'en' ? x.label_en : x.label_th; }
    function why(x) { return lang === 'en' ? x.why_en : x.why_th; }
    function list(node, items, draw) {
      node.textContent = '';
      if (!items.length) { node.appendChild(el('li', { 'class': 'empty', text: t('none') })); return; }
      items.forEach(function (item) { node.appendChild(draw(item)); });
    }
    function line(cls, text) { return el('div', { 'class': cls, text: text }); }
    function erasureItem(e) {
      return el('li', { 'data-erasure': String(e.id) }, [
        line('name', when(e, 'requested_at')),
        line('meta', t('removed') + ': ' + e.removed.map(function (r) { return label(r) + ' ' + r.count; }).join(', ')),
        line('meta', t('kept') + ': ' + e.kept.map(function (k) { return label(k) + (k.count === null ? '' : ' ' + k.count); }).join(', '))
      ]);
    }
    function draw() {
      var a = data.account;
      $('#generated-at').textContent = when(data, 'generated_at');
      facts($('#account-facts'), [
        [t('line_id'), a.line_user_id_masked, 'line_user_id'],
        [t('since'), when(a, 'created_at'), 'created'],
        [t('consent'), a.consent_given ? t('given') : t('not_given'), 'consent'],
        [t('registered'), a.registered ? t('yes') : t('no'), 'registered']
      ].concat(data.dialogue ? [[t('dialogue'), when(data.dialogue, 'started_at'), 'dialogue']] : []));
      list($('#my-links'), data.links, function (l) {
        return el('li', { 'data-link': String(l.id), 'data-level': l.level }, [
          line('name', (l.name || l.masked_cid) + ' (' + relationLabel(l.relation) + ')'),
          line('meta', m('cid') + ' ' + l.masked_cid + ' · ' + m('phone') + ' ' + l.phone_masked),
          el('div', { 'class': 'level', 'data-level': l.level, text: said(l, 'level') }),
          line('meta', t('added') + ' ' + when(l, 'created_at') + (l.verified_at_be ? ' · ' + t('verified_at') + ' ' + when(l, 'verified_at') : ''))
        ]);
      });
      list($('#my-codes'), data.codes, function (c) {
        var notes = [said(c, 'status'), said(c, 'channel')];
        if (c.through_this_account) { notes.push(t('through')); }
        if (c.has_photo) { notes.push(t('photo')); }
        if (c.disputed) { notes.push(t('disputed')); }
        return el('li', { 'class': c.status === 'active' ? 'code-row' : 'code-row cancelled', 'data-code': c.code }, [
          el('div', { 'class': 'code', text: c.code }),
          line('', said(c, 'service_name') + ' [' + c.service_code + ']'),
          line('meta', m('at') + ' ' + c.facility_name + ' (' + c.hcode + ')'),
          line('meta', said(c, 'person_name') + ' · ' + c.masked_cid + ' · ' + m('phone') + ' ' + c.phones_masked.join(', ')),
          line('meta', when(c, 'service_at') + ' · ' + notes.join(' · '))
        ]);
      });
      list($('#consent-history'), data.consent_history, function (r) {
        return el('li', { 'data-decision': r.decision }, [
          line('name', said(r, 'decision')), line('meta', when(r, 'decided_at') + ' · ' + t('version') + ' ' + r.version + ' · ' + t('channel') + ' ' + said(r, 'channel'))
        ]);
      });
      var by = data.linked_by;
      $('#linked-by-note').hidden = by.available;
      $('#linked-by-note').textContent = said(by, 'note') || '';
      list($('#my-linked-by'), by.links, function (l) {
        return el('li', {}, [line('name', said(l, 'account') + ' (' + l.account_masked + ')'),
                             line('meta', said(l, 'relation') + ' · ' + said(l, 'level') + ' · ' + when(l, 'since'))]);
      });
      list($('#my-pcu'), data.pcu_requests, function (r) {
        return el('li', { 'data-status': r.status }, [
          line('name', r.person_name + ': ' + said(r, 'change') + ' · ' + said(r, 'status')),
          line('meta', when(r, 'requested_at') + ' · ' + t('fiscal') + ' ' + fiscalYear(r) +
                       (r.decided_at_be ? ' · ' + t('decided') + ' ' + when(r, 'decided_at') : ''))
        ]);
      });
      $('#erasures-card').hidden = !data.erasures.length;
      list($('#my-erasures'), data.erasures, erasureItem);
      var terms = data.erasure_terms;
      list($('#erase-removes'), terms.removes, function (r) { return el('li', { 'data-kind': r.kind, text: label(r) + (r.verified_only ? ' *' : '') }); });
      $('#erase-verified-only').textContent = '* ' + said(terms, 'verified_only');
      list($('#erase-keeps'), terms.keeps, function (k) {
        return el('li', { 'data-kind': k.kind }, [el('strong', { text: label(k) }), el('span', { 'class': 'why', text: why(k) })]);
      });
      var wt = data.withdrawal_terms;
      $('#withdraw-card').hidden = !a.consent_given;
      list($('#withdraw-removes'), wt.removes, function (r) { return el('li', { 'data-kind': r.kind, text: label(r) }); });
      list($('#withdraw-keeps'), wt.keeps, function (k) {
        return el('li', { 'data-kind': k.kind }, [el('strong', { text: label(k) }), el('span', { 'class': 'why', text: why(k) })]);
      });
      $('#withdraw-note').textContent = lang === 'en' ? wt.note_en : wt.note_th;
      var held = data.links.length || a.consent_given || data.dialogue || data.codes.some(function (c) { return c.through_this_account; });
      $('#erase').hidden = !held;
      $('#register-again').hidden = a.registered;
    }
    function load() { return api('GET', '/my-data').then(function (d) { data = d; draw(); }); }
    $('#download-json').addEventListener('click', function () {
      var blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
      var link = el('a', { href: URL.createObjectURL(blob), download: 'authencode-my-data.json' });
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
    $('#print-page').addEventListener('click', function () { window.print(); });
    $('#erase').addEventListener('click', function (e) {
      var button = e.currentTarget;
      if (button.dataset.confirm !== '1') { button.dataset.confirm = '1'; button.textContent = t('confirm'); return; }
      clearAlert($('#erase-error'));
      setBusy(button, true);
      api('POST', '/my-data/erase', { confirm: 'erase' }).then(function (r) {
        setBusy(button, false);
        button.hidden = true;
        var box = $('#erase-result');
        box.textContent = '';
        box.appendChild(el('p', { text: r.created ? t('done') : t('again') }));
        box.appendChild(el('ul', { 'class': 'plain-list' }, [erasureItem(r.erasure)]));
        box.hidden = false;
        return load();
      }, function (err) { setBusy(button, false); showAlert($('#erase-error'), err); });
    });
    // Withdrawing consent: what goes and what stays is on the card; asked once, then done.
    function asking(on) {
      $('#withdraw-confirm').hidden = !on;
      $('#withdraw').hidden = on;
      if (on) { reveal($('#withdraw-question')); } else { $('#withdraw').focus(); }
    }
    $('#withdraw').addEventListener('click', function () { clearAlert($('#withdraw-error')); asking(true); });
    $('#withdraw-no').addEventListener('click', function () { asking(false); });
    $('#withdraw-yes').addEventListener('click', function (e) {
      var button = e.currentTarget;
      setBusy(button, true);
      api('POST', '/consent/withdraw', { confirm: 'withdraw' }).then(function (r) {
        setBusy(button, false);
        $('#withdraw-confirm').hidden = true;
        $('#withdraw').hidden = false;
        var box = $('#withdraw-result');
        box.textContent = (r.created ? t('withdrawn') : t('withdrawn_before')) + ' (' + r.decided_at[lang] + ')';
        box.hidden = false;
        return load().then(function () { reveal(box); });
      }, function (err) {
        setBusy(button, false);
        asking(false);
        showAlert($('#withdraw-error'), err);
      });
    });
    rerender = function () { if (data) { draw(); } };
    return load();
  };

  // --- start --------------------------------------------------------------------------
  function boot() {
    var page = cfg.page;
    $('#page-error').hidden = true;
    $('#loading').hidden = false;
    signIn().then(function (ready) {
      if (!ready) { return 'redirect'; }
      return api('GET', '/me').then(function (me) {
        // "My data" is open to every account: also one that never registered or erased itself.
        if (!me.consent.given && page !== 'consent' && page !== 'mydata') { return go('consent', { next: page }); }
        if (me.consent.given && !me.self && page !== 'register' && page !== 'consent' && page !== 'mydata') {
          return go('register');
        }
        return PAGES[page](me);
      });
    }).then(function (outcome) {
      if (outcome === 'redirect') { return; }
      $('#loading').hidden = true;
      $('#content').hidden = false;
      // An error shown while the page was still loading is brought into view now.
      var early = $('#content [role=alert]:not([hidden])');
      if (early) { reveal(early); }
      document.body.setAttribute('data-ready', 'true');
    }).catch(showPageError);
  }

  $('#lang-switch').addEventListener('click', function () {
    lang = lang === 'th' ? 'en' : 'th';
    safeSet(LANG_KEY, lang);
    applyLang();
  });
  $('#page-retry').addEventListener('click', function () { location.reload(); });
  applyLang();
  boot();
}());
