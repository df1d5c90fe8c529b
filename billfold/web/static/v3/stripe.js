/*
 * Billfold's Stripe.js: the browser half of Billfold's Stripe API.
 *
 * A page swaps <script src="https://js.stripe.com/v3/"> for <script src="{billfold}/v3/"> and
 * changes nothing else. The public API follows Stripe.js: Stripe(key, options), elements(),
 * create('payment' | 'card'), confirmPayment, confirmSetup, confirmCardPayment, ...
 *
 * Differences a reader should know: Stripe draws its Elements inside cross-origin iframes;
 * Billfold draws them as plain DOM inside an (open) shadow root, so the page's CSS cannot leak
 * in but the page's scripts could read the fields. It only ever talks to the Billfold that
 * served it, with the publishable key and an intent's client secret.
 */
(function () {
  'use strict';

  // The API lives where this script came from (a page on another origin still reaches it).
  var SCRIPT = document.currentScript;
  var API_BASE = new URL(SCRIPT && SCRIPT.src ? SCRIPT.src : window.location.href).origin;
  var VERSION = 'billfold-v3';

  // ---------------------------------------------------------------- errors and messages

  var MESSAGES = {
    incomplete_number: 'Your card number is incomplete.',
    invalid_number: 'Your card number is invalid.',
    incomplete_expiry: "Your card's expiration date is incomplete.",
    invalid_expiry_month: "Your card's expiration month is invalid.",
    invalid_expiry_year: "Your card's expiration year is invalid.",
    invalid_expiry_month_past: "Your card's expiration date is in the past.",
    invalid_expiry_year_past: "Your card's expiration year is in the past.",
    incomplete_cvc: "Your card's security code is incomplete.",
    incomplete_zip: 'Your postal code is incomplete.',
    incomplete_iban: 'Your IBAN is incomplete.',
    invalid_iban: 'Your IBAN is invalid.',
    invalid_iban_country_code: "Your IBAN's country code is invalid.",
    incomplete_name: 'Your full name is incomplete.',
    incomplete_email: 'Your email address is incomplete.',
    invalid_email: 'Your email address is invalid.',
    incomplete_ideal_bank: 'Select your bank.',
  };
  var AUTHENTICATION_FAILED =
    'We are unable to authenticate your payment method. Please choose a different payment ' +
    'method and try again.';

  function IntegrationError(message) {
    var error = new Error(message);
    error.name = 'IntegrationError';
    return error;
  }

  function validationError(code) {
    return { type: 'validation_error', code: code, message: MESSAGES[code] };
  }

  // ---------------------------------------------------------------- the API

  function flatten(value, prefix, out) {
    if (value === undefined) return out;
    if (value === null) {
      out.push([prefix, '']);
    } else if (Array.isArray(value)) {
      value.forEach(function (item, index) { flatten(item, prefix + '[' + index + ']', out); });
    } else if (typeof value === 'object') {
      Object.keys(value).forEach(function (name) {
        flatten(value[name], prefix ? prefix + '[' + name + ']' : name, out);
      });
    } else {
      out.push([prefix, String(value)]);
    }
    return out;
  }

  function encode(params) {
    var search = new URLSearchParams();
    flatten(params || {}, '', []).forEach(function (pair) { search.append(pair[0], pair[1]); });
    return search.toString();
  }

  function Api(key, options) {
    this.key = key;
    this.version = options.apiVersion || null;
    this.account = options.stripeAccount || null;
  }

  /** One API call; Stripe.js resolves with {data} or {error} and never rejects on API errors. */
  Api.prototype.request = function (method, path, params) {
    var headers = { Authorization: 'Bearer ' + this.key };
    if (this.version) headers['Stripe-Version'] = this.version;
    if (this.account) headers['Stripe-Account'] = this.account;
    var url = API_BASE + path;
    var body;
    var query = encode(params);
    if (method === 'GET') {
      if (query) url += '?' + query;
    } else {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      body = query;
    }
    return fetch(url, { method: method, headers: headers, body: body, credentials: 'omit' }).then(
      function (response) {
        return response.json().then(
          function (data) {
            if (response.ok) return { data: data };
            return { error: (data && data.error) || { type: 'api_error', message: 'Unexpected error.' } };
          },
          function () { return { error: { type: 'api_error', message: 'Unexpected response.' } }; }
        );
      },
      function () {
        return {
          error: {
            type: 'api_connection_error',
            message: 'An error occurred with our connection to Stripe. Request was retried 0 times.',
          },
        };
      }
    );
  };

  function parseSecret(secret, kind, method) {
    var prefix = kind === 'setup_intent' ? 'seti_' : 'pi_';
    var match = typeof secret === 'string' && secret.match(/^((?:pi|seti)_[A-Za-z0-9]+)_secret_[A-Za-z0-9]+$/);
    if (!match || (kind && match[1].indexOf(prefix) !== 0)) {
      throw IntegrationError(
        'Invalid value for ' + method + ': clientSecret should be a client secret of the form ' +
        '${id}_secret_${secret}. You specified: ' + secret + '.'
      );
    }
    return { id: match[1], kind: match[1].indexOf('seti_') === 0 ? 'setup_intent' : 'payment_intent' };
  }

  function intentPath(kind, id) {
    return (kind === 'setup_intent' ? '/v1/setup_intents/' : '/v1/payment_intents/') + id;
  }

  function resultKey(kind) {
    return kind === 'setup_intent' ? 'setupIntent' : 'paymentIntent';
  }

  // ---------------------------------------------------------------- card rules

  var BRANDS = [
    { brand: 'amex', label: 'American Express', pattern: /^3[47]/, lengths: [15], cvc: 4 },
    { brand: 'diners', label: 'Diners Club', pattern: /^3(0[0-5]|[689])/, lengths: [14, 16], cvc: 3 },
    { brand: 'jcb', label: 'JCB', pattern: /^35/, lengths: [16], cvc: 3 },
    { brand: 'discover', label: 'Discover', pattern: /^6(011|5|4[4-9])/, lengths: [16], cvc: 3 },
    { brand: 'unionpay', label: 'UnionPay', pattern: /^62/, lengths: [16, 17, 18, 19], cvc: 3 },
    { brand: 'mastercard', label: 'Mastercard', pattern: /^(5[1-5]|2[2-7])/, lengths: [16], cvc: 3 },
    { brand: 'visa', label: 'Visa', pattern: /^4/, lengths: [13, 16], cvc: 3 },
  ];
  var UNKNOWN_BRAND = { brand: 'unknown', label: '', pattern: null, lengths: [16], cvc: 3 };

  function cardBrand(digits) {
    for (var i = 0; i < BRANDS.length; i++) {
      if (BRANDS[i].pattern.test(digits)) return BRANDS[i];
    }
    return UNKNOWN_BRAND;
  }

  function luhn(digits) {
    var sum = 0;
    for (var i = 0; i < digits.length; i++) {
      var digit = Number(digits[digits.length - 1 - i]);
      if (i % 2 === 1) {
        digit *= 2;
        if (digit > 9) digit -= 9;
      }
      sum += digit;
    }
    return digits.length > 0 && sum % 10 === 0;
  }

  function onlyDigits(text) { return String(text || '').replace(/\D/g, ''); }

  function formatNumber(digits) {
    var info = cardBrand(digits);
    var groups = info.brand === 'amex' || (info.brand === 'diners' && digits.length <= 14)
      ? [4, 6, 5] : [4, 4, 4, 4, 3];
    var parts = [];
    var at = 0;
    for (var i = 0; i < groups.length && at < digits.length; i++) {
      parts.push(digits.slice(at, at + groups[i]));
      at += groups[i];
    }
    return parts.join(' ');
  }

  /** Each checker returns {empty, complete, code, eager}; eager codes show while typing. */
  function checkNumber(value) {
    var digits = onlyDigits(value);
    if (!digits) return { empty: true, complete: false, code: 'incomplete_number' };
    var info = cardBrand(digits);
    var longest = Math.max.apply(null, info.lengths);
    if (info.lengths.indexOf(digits.length) >= 0 && luhn(digits)) return { complete: true };
    if (digits.length >= longest) return { complete: false, code: 'invalid_number', eager: true };
    return { complete: false, code: 'incomplete_number' };
  }

  function formatExpiry(raw, deleting) {
    var digits = onlyDigits(raw);
    if (digits.length === 1 && Number(digits) > 1) digits = '0' + digits;
    digits = digits.slice(0, 4);
    if (digits.length < 2) return digits;
    if (digits.length === 2 && deleting) return digits;
    return digits.slice(0, 2) + ' / ' + digits.slice(2);
  }

  function parseExpiry(value) {
    var digits = onlyDigits(value);
    if (digits.length < 4) return null;
    return { month: Number(digits.slice(0, 2)), year: 2000 + Number(digits.slice(2, 4)) };
  }

  function checkExpiry(value) {
    var digits = onlyDigits(value);
    if (!digits) return { empty: true, complete: false, code: 'incomplete_expiry' };
    var month = Number(digits.slice(0, 2));
    if (digits.length >= 2 && (month < 1 || month > 12)) {
      return { complete: false, code: 'invalid_expiry_month', eager: true };
    }
    var parsed = parseExpiry(value);
    if (!parsed) return { complete: false, code: 'incomplete_expiry' };
    var now = new Date();
    var year = now.getFullYear();
    if (parsed.year < year) return { complete: false, code: 'invalid_expiry_year_past', eager: true };
    if (parsed.year === year && parsed.month < now.getMonth() + 1) {
      return { complete: false, code: 'invalid_expiry_month_past', eager: true };
    }
    if (parsed.year > year + 50) return { complete: false, code: 'invalid_expiry_year', eager: true };
    return { complete: true };
  }

  function checkCvc(value, number) {
    var digits = onlyDigits(value);
    if (!digits) return { empty: true, complete: false, code: 'incomplete_cvc' };
    var needed = cardBrand(onlyDigits(number)).cvc;
    return digits.length >= needed ? { complete: true } : { complete: false, code: 'incomplete_cvc' };
  }

  function checkPostal(value, country) {
    var text = String(value || '').trim();
    if (!text) return { empty: true, complete: false, code: 'incomplete_zip' };
    if (country === 'US' || (!country && /^\d+$/.test(text))) {
      return /^\d{5}(-?\d{4})?$/.test(text) ? { complete: true } : { complete: false, code: 'incomplete_zip' };
    }
    return text.length >= 3 ? { complete: true } : { complete: false, code: 'incomplete_zip' };
  }

  // ---------------------------------------------------------------- bank rules

  var IBAN_LENGTHS = {
    AT: 20, BE: 16, BG: 22, CH: 21, CY: 28, CZ: 24, DE: 22, DK: 18, EE: 20, ES: 24, FI: 18,
    FR: 27, GB: 22, GR: 27, HR: 21, HU: 28, IE: 22, IS: 26, IT: 27, LI: 21, LT: 20, LU: 20,
    LV: 21, MC: 27, MT: 31, NL: 18, NO: 15, PL: 28, PT: 25, RO: 24, SE: 24, SI: 19, SK: 24,
    SM: 27,
  };

  function ibanMod97(iban) {
    var moved = iban.slice(4) + iban.slice(0, 4);
    var remainder = 0;
    for (var i = 0; i < moved.length; i++) {
      var code = parseInt(moved[i], 36);
      var chunk = String(code);
      for (var j = 0; j < chunk.length; j++) remainder = (remainder * 10 + Number(chunk[j])) % 97;
    }
    return remainder === 1;
  }

  function checkIban(value) {
    var iban = String(value || '').replace(/\s/g, '').toUpperCase();
    if (!iban) return { empty: true, complete: false, code: 'incomplete_iban' };
    if (/[^A-Z0-9]/.test(iban)) return { complete: false, code: 'invalid_iban', eager: true };
    if (iban.length >= 2 && !IBAN_LENGTHS[iban.slice(0, 2)]) {
      return { complete: false, code: 'invalid_iban_country_code', eager: true };
    }
    var wanted = IBAN_LENGTHS[iban.slice(0, 2)];
    if (!wanted || iban.length < wanted) return { complete: false, code: 'incomplete_iban' };
    if (iban.length > wanted || !ibanMod97(iban)) return { complete: false, code: 'invalid_iban', eager: true };
    return { complete: true };
  }

  function formatIban(value) {
    var iban = String(value || '').replace(/\s/g, '').toUpperCase();
    return iban.replace(/(.{4})/g, '$1 ').trim();
  }

  function checkName(value) {
    var text = String(value || '').trim();
    if (!text) return { empty: true, complete: false, code: 'incomplete_name' };
    return { complete: true };
  }

  function checkEmail(value) {
    var text = String(value || '').trim();
    if (!text) return { empty: true, complete: false, code: 'incomplete_email' };
    if (/^[^\s@]+@[^\s@]+\.[^\s@]{2,}$/.test(text)) return { complete: true };
    return { complete: false, code: text.indexOf('@') < 0 ? 'incomplete_email' : 'invalid_email' };
  }

  function checkChoice(value) {
    return value ? { complete: true } : { empty: true, complete: false, code: 'incomplete_ideal_bank' };
  }

  var IDEAL_BANKS = [
    ['abn_amro', 'ABN AMRO'], ['asn_bank', 'ASN Bank'], ['bunq', 'bunq'], ['buut', 'Buut'],
    ['handelsbanken', 'Handelsbanken'], ['ing', 'ING'], ['knab', 'Knab'], ['moneyou', 'Moneyou'],
    ['n26', 'N26'], ['nn', 'Nationale-Nederlanden'], ['rabobank', 'Rabobank'],
    ['regiobank', 'RegioBank'], ['revolut', 'Revolut'], ['sns_bank', 'SNS Bank'],
    ['triodos_bank', 'Triodos Bank'], ['van_lanschot', 'Van Lanschot'], ['yoursafe', 'Yoursafe'],
  ];
  var COUNTRIES = [
    ['US', 'United States'], ['GB', 'United Kingdom'], ['CA', 'Canada'], ['AU', 'Australia'],
    ['DE', 'Germany'], ['FR', 'France'], ['NL', 'Netherlands'], ['IE', 'Ireland'],
    ['ES', 'Spain'], ['IT', 'Italy'], ['JP', 'Japan'], ['SG', 'Singapore'],
  ];
  var POSTAL_COUNTRIES = ['US', 'GB', 'CA'];

  // ---------------------------------------------------------------- appearance

  var THEMES = {
    stripe: {
      colorPrimary: '#0570de', colorBackground: '#ffffff', colorText: '#1f2937',
      colorTextSecondary: '#374151', colorDanger: '#b91c1c', colorBorder: '#d1d5db',
      fontFamily: 'system-ui, -apple-system, "Segoe UI", sans-serif', fontSizeBase: '16px',
      borderRadius: '8px', spacingUnit: '4px',
    },
    night: {
      colorPrimary: '#0085ff', colorBackground: '#30313d', colorText: '#ffffff',
      colorTextSecondary: '#d1d5db', colorDanger: '#fe87a1', colorBorder: '#424353',
    },
    flat: {
      colorBackground: '#f3f4f6', colorBorder: '#f3f4f6', borderRadius: '4px',
    },
  };

  function styleFor(appearance) {
    appearance = appearance || {};
    var values = Object.assign({}, THEMES.stripe, THEMES[appearance.theme] || {}, appearance.variables || {});
    var lines = Object.keys(values).map(function (name) {
      var prop = '--bf-' + name.replace(/[A-Z]/g, function (c) { return '-' + c.toLowerCase(); });
      return prop + ': ' + String(values[name]).replace(/[;{}<>]/g, '') + ';';
    });
    return ':host { ' + lines.join(' ') + ' }';
  }

  var BASE_CSS = [
    ':host { display: block; }',
    '.bf { font-family: var(--bf-font-family); font-size: var(--bf-font-size-base); color: var(--bf-color-text); }',
    '.field { margin: 0 0 calc(var(--bf-spacing-unit) * 3); min-width: 0; }',
    '.row { display: flex; gap: calc(var(--bf-spacing-unit) * 3); }',
    '.row > .field { flex: 1; }',
    'label { display: block; font-size: 0.875em; margin: 0 0 var(--bf-spacing-unit); color: var(--bf-color-text-secondary); }',
    'input, select { font: inherit; color: inherit; width: 100%; box-sizing: border-box; padding: 0.6em 0.75em;',
    '  background: var(--bf-color-background); border: 1px solid var(--bf-color-border);',
    '  border-radius: var(--bf-border-radius); outline: none; }',
    'input:focus, select:focus { border-color: var(--bf-color-primary);',
    '  box-shadow: 0 0 0 3px color-mix(in srgb, var(--bf-color-primary) 25%, transparent); }',
    'input.invalid, select.invalid { border-color: var(--bf-color-danger); color: var(--bf-color-danger); }',
    '.error { color: var(--bf-color-danger); font-size: 0.85em; margin-top: var(--bf-spacing-unit); }',
    '.error:empty { display: none; }',
    '.number { position: relative; }',
    '.brand { position: absolute; right: 0.75em; top: 50%; transform: translateY(-50%); font-size: 0.75em;',
    '  font-weight: 600; color: var(--bf-color-text-secondary); pointer-events: none; }',
    '.tabs { display: flex; gap: calc(var(--bf-spacing-unit) * 2); margin: 0 0 calc(var(--bf-spacing-unit) * 3); }',
    '.tab { flex: 1; font: inherit; font-size: 0.875em; padding: 0.6em; cursor: pointer; text-align: left;',
    '  background: var(--bf-color-background); color: var(--bf-color-text); border: 1px solid var(--bf-color-border);',
    '  border-radius: var(--bf-border-radius); }',
    '.tab[aria-selected="true"] { border-color: var(--bf-color-primary); color: var(--bf-color-primary);',
    '  box-shadow: 0 0 0 1px var(--bf-color-primary); }',
    '.mandate { font-size: 0.75em; color: var(--bf-color-text-secondary); margin: 0; }',
    '.card-row { display: flex; align-items: center; gap: 0.5em; padding: 0 0.5em; background: var(--bf-color-background);',
    '  border: 1px solid var(--bf-color-border); border-radius: var(--bf-border-radius); }',
    '.card-row.focused { border-color: var(--bf-color-primary); }',
    '.card-row.invalid { border-color: var(--bf-color-danger); }',
    '.card-row input { border: 0; box-shadow: none; padding: 0.6em 0.25em; background: transparent; }',
    '.card-row input[name="cardnumber"] { flex: 3; } .card-row input[name="exp-date"] { flex: 1.3; }',
    '.card-row input[name="cvc"] { flex: 1; } .card-row input[name="postal"] { flex: 1.3; }',
  ].join('\n');

  // ---------------------------------------------------------------- fields

  var uid = 0;

  /**
   * One input (or select) with its rule. ``shown`` decides when its error appears: eager
   * errors at once, incomplete ones after the person leaves a non-empty field, all on submit.
   */
  function Field(spec, onChange) {
    this.spec = spec;
    this.onChange = onChange;
    this.touched = false;
    this.forced = false;
    this.state = { empty: true, complete: false };
    var id = 'bf-' + (++uid);
    var wrap = document.createElement('div');
    wrap.className = 'field';
    if (spec.label) {
      var label = document.createElement('label');
      label.htmlFor = id;
      label.textContent = spec.label;
      wrap.appendChild(label);
    }
    var holder = wrap;
    if (spec.brand) {
      holder = document.createElement('div');
      holder.className = 'number';
      wrap.appendChild(holder);
    }
    var input;
    if (spec.options) {
      input = document.createElement('select');
      (spec.placeholder ? [['', spec.placeholder]] : []).concat(spec.options).forEach(function (pair) {
        var option = document.createElement('option');
        option.value = pair[0];
        option.textContent = pair[1];
        input.appendChild(option);
      });
      if (spec.value) input.value = spec.value;
    } else {
      input = document.createElement('input');
      input.type = spec.type || 'text';
      if (spec.inputmode) input.inputMode = spec.inputmode;
      if (spec.autocomplete) input.autocomplete = spec.autocomplete;
      input.placeholder = spec.placeholder || '';
      input.spellcheck = false;
      if (spec.maxlength) input.maxLength = spec.maxlength;
    }
    input.id = id;
    input.name = spec.name;
    input.setAttribute('aria-label', spec.label || spec.placeholder || spec.name);
    holder.appendChild(input);
    if (spec.brand) {
      this.brand = document.createElement('span');
      this.brand.className = 'brand';
      holder.appendChild(this.brand);
    }
    this.error = document.createElement('div');
    this.error.className = 'error';
    this.error.setAttribute('role', 'alert');
    if (!spec.inline) wrap.appendChild(this.error);
    this.wrap = wrap;
    this.input = input;
    var self = this;
    var deleting = false;
    input.addEventListener('keydown', function (event) {
      deleting = event.key === 'Backspace' || event.key === 'Delete';
    });
    input.addEventListener(spec.options ? 'change' : 'input', function () {
      if (spec.format) {
        var formatted = spec.format(input.value, deleting);
        if (formatted !== input.value) input.value = formatted;
      }
      self.validate();
      onChange(self, 'change');
    });
    input.addEventListener('focus', function () { onChange(self, 'focus'); });
    input.addEventListener('blur', function () {
      self.touched = !self.state.empty;
      self.validate();
      onChange(self, 'blur');
    });
  }

  Field.prototype.value = function () { return this.input.value; };

  Field.prototype.validate = function () {
    this.state = this.spec.check(this.input.value);
    if (this.brand) {
      var digits = onlyDigits(this.input.value);
      this.brand.textContent = digits ? cardBrand(digits).label : '';
    }
    var code = this.shownCode();
    this.error.textContent = code ? MESSAGES[code] : '';
    this.input.classList.toggle('invalid', Boolean(code));
    this.input.setAttribute('aria-invalid', code ? 'true' : 'false');
    return this.state;
  };

  Field.prototype.shownCode = function () {
    var state = this.state;
    if (state.complete || !state.code) return null;
    if (state.eager || this.forced || (this.touched && !state.empty)) return state.code;
    return null;
  };

  Field.prototype.clear = function () {
    this.input.value = this.spec.options ? (this.spec.value || '') : '';
    this.touched = false;
    this.forced = false;
    this.validate();
  };

  // The fields each payment method type shows, with what their PaymentMethod is made from.
  function cardSpecs(names, numberOf) {
    return [
      { key: 'number', name: names.number, label: names.labels && 'Card number',
        placeholder: '1234 1234 1234 1234', inputmode: 'numeric', autocomplete: 'cc-number',
        brand: Boolean(names.labels), maxlength: 23,
        format: function (value) { return formatNumber(onlyDigits(value).slice(0, 19)); },
        check: checkNumber },
      { key: 'expiry', name: names.expiry, label: names.labels && 'Expiration date',
        placeholder: 'MM / YY', inputmode: 'numeric', autocomplete: 'cc-exp', maxlength: 7,
        format: formatExpiry, check: checkExpiry },
      { key: 'cvc', name: 'cvc', label: names.labels && 'Security code', placeholder: 'CVC',
        inputmode: 'numeric', autocomplete: 'cc-csc', maxlength: 4,
        format: function (value) {
          return onlyDigits(value).slice(0, cardBrand(onlyDigits(numberOf())).cvc);
        },
        check: function (value) { return checkCvc(value, numberOf()); } },
    ];
  }

  // ---------------------------------------------------------------- Element

  var ELEMENT_TYPES = ['payment', 'card', 'cardNumber', 'cardExpiry', 'cardCvc', 'iban', 'idealBank'];

  function Element(group, type, options) {
    this._group = group;
    this._type = type;
    this._options = options || {};
    this._handlers = {};
    this._fields = {};
    this._host = null;
    this._root = null;
    this._destroyed = false;
    this._methodType = null;
    this._types = [];
  }

  Element.prototype.on = function (event, handler) {
    (this._handlers[event] = this._handlers[event] || []).push(handler);
    if (event === 'ready' && this._ready) setTimeout(function () { handler({ elementType: this._type }); }.bind(this));
    return this;
  };
  Element.prototype.addEventListener = Element.prototype.on;
  Element.prototype.once = function (event, handler) {
    var self = this;
    function wrapper(payload) { self.off(event, wrapper); handler(payload); }
    return this.on(event, wrapper);
  };
  Element.prototype.off = function (event, handler) {
    var list = this._handlers[event] || [];
    this._handlers[event] = handler ? list.filter(function (h) { return h !== handler; }) : [];
    return this;
  };
  Element.prototype.removeEventListener = Element.prototype.off;
  Element.prototype._emit = function (event, payload) {
    (this._handlers[event] || []).slice().forEach(function (handler) {
      try { handler(payload); } catch (error) { setTimeout(function () { throw error; }); }
    });
  };

  Element.prototype.mount = function (target) {
    if (this._destroyed) throw IntegrationError('This Element has already been destroyed. Please create a new one.');
    var node = typeof target === 'string' ? document.querySelector(target) : target;
    if (!node || !node.appendChild) {
      throw IntegrationError(
        'The selector you specified (' + target + ') applies to no DOM elements that are currently ' +
        'on the page.\nMake sure the element exists on the page before calling mount().'
      );
    }
    if (this._host) this.unmount();
    this._host = document.createElement('div');
    this._host.className = 'BillfoldElement __PrivateStripeElement';
    this._host.setAttribute('data-element-type', this._type);
    this._root = this._host.attachShadow({ mode: 'open' });
    node.appendChild(this._host);
    this._container = node;
    var self = this;
    this._group._ready.then(function () {
      if (!self._root) return;
      self._render();
      self._ready = true;
      self._emit('ready', { elementType: self._type });
    });
  };

  Element.prototype.unmount = function () {
    if (this._host && this._host.parentNode) this._host.parentNode.removeChild(this._host);
    this._host = null;
    this._root = null;
    this._fields = {};
    this._ready = false;
  };

  Element.prototype.destroy = function () {
    this.unmount();
    this._destroyed = true;
    this._group._forget(this);
  };

  Element.prototype.update = function (options) {
    Object.assign(this._options, options || {});
    if (this._root) this._render();
  };

  Element.prototype.focus = function () {
    var first = this._orderedFields()[0];
    if (first) first.input.focus();
  };
  Element.prototype.blur = function () {
    var active = this._root && this._root.activeElement;
    if (active) active.blur();
  };
  Element.prototype.clear = function () {
    this._orderedFields().forEach(function (field) { field.clear(); });
    this._changed(null);
  };
  Element.prototype.collapse = function () { return this; };

  Element.prototype._orderedFields = function () {
    var fields = this._fields;
    return Object.keys(fields).map(function (key) { return fields[key]; });
  };

  Element.prototype._restyle = function () {
    if (!this._root) return;
    var style = this._root.querySelector('style');
    if (style) style.textContent = styleFor(this._group._appearance) + '\n' + BASE_CSS;
  };

  Element.prototype._render = function () {
    var root = this._root;
    root.innerHTML = '';
    var style = document.createElement('style');
    root.appendChild(style);
    this._restyle();
    var body = document.createElement('div');
    body.className = 'bf';
    body.setAttribute('data-testid', 'billfold-' + this._type + '-element');
    root.appendChild(body);
    this._body = body;
    this._fields = {};
    if (this._type === 'payment') {
      this._types = this._group._paymentMethodTypes();
      if (this._types.indexOf(this._methodType) < 0) this._methodType = this._types[0];
      this._renderPayment();
    } else if (this._type === 'card') {
      this._renderCard();
    } else {
      this._renderSingle();
    }
  };

  Element.prototype._add = function (parent, spec) {
    var self = this;
    var field = new Field(spec, function (changed, kind) { self._fieldEvent(changed, kind); });
    this._fields[spec.key] = field;
    parent.appendChild(field.wrap);
    return field;
  };

  var TYPE_LABELS = { card: 'Card', ideal: 'iDEAL', sepa_debit: 'SEPA Debit' };

  Element.prototype._renderPayment = function () {
    var self = this;
    var body = this._body;
    if (this._types.length > 1) {
      var tabs = document.createElement('div');
      tabs.className = 'tabs';
      tabs.setAttribute('role', 'tablist');
      this._types.forEach(function (type) {
        var tab = document.createElement('button');
        tab.type = 'button';
        tab.className = 'tab';
        tab.setAttribute('role', 'tab');
        tab.setAttribute('data-testid', type);
        tab.setAttribute('aria-selected', String(type === self._methodType));
        tab.textContent = TYPE_LABELS[type] || type;
        tab.addEventListener('click', function () {
          if (self._methodType === type) return;
          self._methodType = type;
          self._render();
          self._changed(null);
        });
        tabs.appendChild(tab);
      });
      body.appendChild(tabs);
    }
    var type = this._methodType;
    if (type === 'card') {
      var specs = cardSpecs({ number: 'number', expiry: 'expiry', labels: true }, this._numberOf());
      this._add(body, specs[0]);
      var row = document.createElement('div');
      row.className = 'row';
      body.appendChild(row);
      this._add(row, specs[1]);
      this._add(row, specs[2]);
      var countryRow = document.createElement('div');
      countryRow.className = 'row';
      body.appendChild(countryRow);
      var defaults = ((this._options.defaultValues || {}).billingDetails || {}).address || {};
      var country = this._add(countryRow, {
        key: 'country', name: 'country', label: 'Country', options: COUNTRIES,
        value: defaults.country || 'US', check: function () { return { complete: true }; },
      });
      var postalField = this._add(countryRow, {
        key: 'postalCode', name: 'postalCode', label: 'ZIP', placeholder: '12345',
        autocomplete: 'postal-code',
        check: function (value) { return checkPostal(value, country.value()); },
      });
      var showPostal = function () {
        var wanted = POSTAL_COUNTRIES.indexOf(country.value()) >= 0;
        postalField.wrap.style.display = wanted ? '' : 'none';
        postalField.wrap.querySelector('label').textContent = country.value() === 'US' ? 'ZIP' : 'Postal code';
        postalField.hidden = !wanted;
      };
      country.input.addEventListener('change', showPostal);
      showPostal();
    } else if (type === 'ideal') {
      this._add(body, { key: 'name', name: 'name', label: 'Full name', placeholder: 'First and last name',
        autocomplete: 'name', check: checkName });
      this._add(body, { key: 'bank', name: 'bank', label: 'iDEAL Bank', placeholder: 'Select bank',
        options: IDEAL_BANKS, check: checkChoice });
    } else if (type === 'sepa_debit') {
      this._add(body, { key: 'name', name: 'name', label: 'Full name', placeholder: 'First and last name',
        autocomplete: 'name', check: checkName });
      this._add(body, { key: 'email', name: 'email', label: 'Email', type: 'email',
        placeholder: 'you@example.com', autocomplete: 'email', check: checkEmail });
      this._add(body, { key: 'iban', name: 'iban', label: 'IBAN', placeholder: 'DE00 0000 0000 0000 0000 00',
        format: formatIban, check: checkIban });
      var mandate = document.createElement('p');
      mandate.className = 'mandate';
      mandate.textContent =
        'By providing your payment information and confirming this payment, you authorise ' +
        (this._group._merchantName || 'the merchant') + ' and Stripe, our payment service ' +
        'provider, to send instructions to your bank to debit your account and your bank to ' +
        'debit your account in accordance with those instructions.';
      body.appendChild(mandate);
    } else {
      var unsupported = document.createElement('p');
      unsupported.className = 'error';
      unsupported.textContent = 'Billfold cannot collect ' + type + ' payment details.';
      body.appendChild(unsupported);
    }
    this._orderedFields().forEach(function (field) { field.validate(); });
  };

  Element.prototype._renderCard = function () {
    var self = this;
    var rowEl = document.createElement('div');
    rowEl.className = 'card-row';
    this._body.appendChild(rowEl);
    this._cardRow = rowEl;
    var specs = cardSpecs({ number: 'cardnumber', expiry: 'exp-date', labels: false }, this._numberOf());
    specs.forEach(function (spec) { spec.inline = true; self._add(rowEl, spec); });
    if (!this._options.hidePostalCode) {
      var initial = (this._options.value || {}).postalCode || '';
      var postal = this._add(rowEl, { key: 'postalCode', name: 'postal', placeholder: 'ZIP',
        autocomplete: 'postal-code', inline: true, check: function (value) { return checkPostal(value, null); } });
      postal.input.value = initial;
    }
    this._orderedFields().forEach(function (field) {
      field.wrap.style.display = 'contents';
      field.validate();
    });
  };

  Element.prototype._renderSingle = function () {
    var card = cardSpecs({ number: 'cardnumber', expiry: 'exp-date' }, this._numberOf());
    var specs = {
      cardNumber: card[0],
      cardExpiry: card[1],
      cardCvc: card[2],
      iban: { key: 'iban', name: 'iban', placeholder: 'DE89 3704 0044 0532 0130 00', format: formatIban, check: checkIban },
      idealBank: { key: 'bank', name: 'bank', placeholder: 'Select bank', options: IDEAL_BANKS, check: checkChoice },
    };
    var spec = specs[this._type];
    spec.inline = true;
    var field = this._add(this._body, spec);
    if (this._type === 'cardNumber' || this._type === 'cardExpiry' || this._type === 'cardCvc') {
      this._fields = {};
      this._fields[this._type === 'cardNumber' ? 'number' : this._type === 'cardExpiry' ? 'expiry' : 'cvc'] = field;
    }
    field.validate();
  };

  /** The card number typed so far (in this element, or in a split cardNumber element). */
  Element.prototype._numberOf = function () {
    var self = this;
    return function () {
      var field = self._fields.number || self._group._cardParts().number;
      return field ? field.value() : '';
    };
  };

  Element.prototype._activeFields = function () {
    return this._orderedFields().filter(function (field) { return !field.hidden; });
  };

  Element.prototype._fieldEvent = function (field, kind) {
    if (this._cardRow) {
      this._cardRow.classList.toggle('focused', kind === 'focus');
    }
    if (kind === 'focus') this._emit('focus', { elementType: this._type });
    if (kind === 'blur') this._emit('blur', { elementType: this._type });
    this._changed(field);
  };

  /** Stripe's change event: the first error shown, with complete/empty for the element. */
  Element.prototype._describe = function () {
    var fields = this._activeFields();
    var error;
    var complete = fields.length > 0;
    var empty = true;
    fields.forEach(function (field) {
      var state = field.state;
      if (!state.complete) complete = false;
      if (!state.empty && field.spec.key !== 'country') empty = false;
      var code = field.shownCode();
      if (code && !error) error = validationError(code);
    });
    if (this._cardRow) this._cardRow.classList.toggle('invalid', Boolean(error));
    var event = { elementType: this._type, empty: empty, complete: complete, error: error };
    if (this._type === 'payment') {
      event.collapsed = false;
      event.value = { type: this._methodType };
    } else if (this._type === 'card') {
      var number = this._fields.number ? onlyDigits(this._fields.number.value()) : '';
      event.brand = number ? cardBrand(number).brand : 'unknown';
      event.value = { postalCode: this._fields.postalCode ? this._fields.postalCode.value() : '' };
    } else if (this._type === 'cardNumber') {
      event.brand = cardBrand(onlyDigits(this._fields.number.value())).brand;
    } else if (this._type === 'iban') {
      var iban = this._fields.iban.value().replace(/\s/g, '').toUpperCase();
      event.country = iban.slice(0, 2);
      event.bankName = undefined;
    } else if (this._type === 'idealBank') {
      event.value = this._fields.bank.value();
    }
    return event;
  };

  Element.prototype._changed = function () {
    this._emit('change', this._describe());
  };

  /** Validate for submit: every error is shown; returns Stripe's validation error or null. */
  Element.prototype._validateAll = function () {
    if (!this._root || !this._ready) {
      return { type: 'validation_error', code: 'incomplete', message: 'The Payment Element is not mounted yet.' };
    }
    var first = null;
    this._activeFields().forEach(function (field) {
      field.forced = true;
      field.validate();
      var code = field.shownCode();
      if (code && !first) first = validationError(code);
    });
    this._changed(null);
    return first;
  };

  /** PaymentMethod parameters from what the person typed (call after _validateAll). */
  Element.prototype._paymentMethodData = function (extraBilling) {
    var fields = this._fields;
    var billing = JSON.parse(JSON.stringify(extraBilling || {}));
    var type = this._type === 'payment' ? this._methodType : this._type === 'iban' ? 'sepa_debit' :
      this._type === 'idealBank' ? 'ideal' : 'card';
    var data = { type: type };
    if (type === 'card') {
      var parts = this._type === 'card' || this._type === 'payment' ? fields : this._group._cardParts();
      var expiry = parseExpiry(parts.expiry ? parts.expiry.value() : '') || {};
      data.card = {
        number: onlyDigits(parts.number ? parts.number.value() : ''),
        exp_month: expiry.month,
        exp_year: expiry.year,
        cvc: onlyDigits(parts.cvc ? parts.cvc.value() : ''),
      };
      if (fields.country || (fields.postalCode && !fields.postalCode.hidden && fields.postalCode.value())) {
        billing.address = Object.assign({}, billing.address || {});
        if (fields.country && billing.address.country === undefined) billing.address.country = fields.country.value();
        if (fields.postalCode && !fields.postalCode.hidden && fields.postalCode.value() && billing.address.postal_code === undefined) {
          billing.address.postal_code = fields.postalCode.value().trim();
        }
      }
    } else if (type === 'ideal') {
      data.ideal = { bank: fields.bank.value() };
      if (fields.name && billing.name === undefined) billing.name = fields.name.value().trim();
    } else if (type === 'sepa_debit') {
      data.sepa_debit = { iban: fields.iban.value().replace(/\s/g, '').toUpperCase() };
      if (fields.name && billing.name === undefined) billing.name = fields.name.value().trim();
      if (fields.email && billing.email === undefined) billing.email = fields.email.value().trim();
    }
    if (Object.keys(billing).length) data.billing_details = billing;
    return data;
  };

  // ---------------------------------------------------------------- Elements group

  function Elements(stripe, options) {
    options = options || {};
    this._stripe = stripe;
    this._options = options;
    this._appearance = options.appearance || {};
    this._elements = [];
    this._clientSecret = options.clientSecret || null;
    this._intent = null;
    this._submitted = false;
    var self = this;
    if (this._clientSecret) {
      var parsed = parseSecret(this._clientSecret, null, 'elements()');
      this._ready = stripe._api.request('GET', intentPath(parsed.kind, parsed.id), { client_secret: this._clientSecret })
        .then(function (result) {
          self._intent = result.data || null;
          self._intentKind = parsed.kind;
          if (result.error) {
            self._loadError = result.error;
            self._elements.forEach(function (el) { el._emit('loaderror', { elementType: el._type, error: result.error }); });
          }
        });
    } else {
      this._ready = Promise.resolve();
    }
  }

  Elements.prototype._paymentMethodTypes = function () {
    if (this._intent && this._intent.payment_method_types) return this._intent.payment_method_types.slice();
    return (this._options.paymentMethodTypes || ['card']).slice();
  };

  Elements.prototype._cardParts = function () {
    var parts = {};
    this._elements.forEach(function (el) {
      Object.keys(el._fields).forEach(function (key) {
        if (el._type === 'cardNumber' || el._type === 'cardExpiry' || el._type === 'cardCvc') parts[key] = el._fields[key];
      });
    });
    return parts;
  };

  Elements.prototype.create = function (type, options) {
    if (ELEMENT_TYPES.indexOf(type) < 0) {
      throw IntegrationError('A valid Element name must be provided. Valid Elements are: ' + ELEMENT_TYPES.join(', ') + '; you passed: ' + type + '.');
    }
    if (this.getElement(type)) {
      throw IntegrationError('Can only create one Element of type ' + type + '.');
    }
    var element = new Element(this, type, options);
    this._elements.push(element);
    return element;
  };

  Elements.prototype.getElement = function (type) {
    var found = this._elements.filter(function (el) { return el._type === type; });
    return found[0] || null;
  };

  Elements.prototype._forget = function (element) {
    this._elements = this._elements.filter(function (el) { return el !== element; });
  };

  Elements.prototype.update = function (options) {
    options = options || {};
    Object.assign(this._options, options);
    if (options.appearance) this._appearance = options.appearance;
    this._elements.forEach(function (el) { el._restyle(); });
  };

  Elements.prototype.fetchUpdates = function () {
    var self = this;
    if (!this._clientSecret) return Promise.resolve({});
    var parsed = parseSecret(this._clientSecret, null, 'fetchUpdates()');
    return this._stripe._api.request('GET', intentPath(parsed.kind, parsed.id), { client_secret: this._clientSecret })
      .then(function (result) {
        if (result.error) return { error: result.error };
        self._intent = result.data;
        self._elements.forEach(function (el) { if (el._root && el._type === 'payment') el._render(); });
        return {};
      });
  };

  /** The element that collects payment details (the Payment Element, else a card element). */
  Elements.prototype._primary = function () {
    return this.getElement('payment') || this.getElement('card') || this.getElement('cardNumber') ||
      this.getElement('iban') || this.getElement('idealBank');
  };

  Elements.prototype.submit = function () {
    var self = this;
    return this._ready.then(function () {
      var element = self._primary();
      if (!element) {
        throw IntegrationError('elements.submit() requires a mounted Payment Element.');
      }
      var error = element._validateAll();
      if (error) return { error: error };
      self._submitted = true;
      return { selectedPaymentMethod: element._type === 'payment' ? element._methodType : 'card' };
    });
  };

  // ---------------------------------------------------------------- the 3D Secure modal

  /** Open ``url`` over the page and wait until it reports back or the intent moves on. */
  function openChallenge(url, stillWaiting) {
    return new Promise(function (resolve) {
      var overlay = document.createElement('div');
      overlay.className = 'BillfoldChallenge';
      overlay.setAttribute('data-testid', 'billfold-3ds-modal');
      overlay.style.cssText = 'position:fixed;inset:0;z-index:2147483647;background:rgba(0,0,0,0.5);' +
        'display:flex;align-items:center;justify-content:center;';
      var frame = document.createElement('iframe');
      frame.name = 'billfold-3ds-challenge';
      frame.title = '3D Secure authentication';
      frame.src = url;
      frame.style.cssText = 'width:min(30rem,95vw);height:min(38rem,90vh);border:0;border-radius:0.75rem;background:#fff;';
      overlay.appendChild(frame);
      document.body.appendChild(overlay);
      var done = false;
      var timer = null;
      function finish() {
        if (done) return;
        done = true;
        window.removeEventListener('message', onMessage);
        clearTimeout(timer);
        if (overlay.parentNode) overlay.parentNode.removeChild(overlay);
        resolve();
      }
      function onMessage(event) {
        if (event.origin === API_BASE && event.data && event.data.type === 'billfold:3ds-complete') finish();
      }
      window.addEventListener('message', onMessage);
      function poll() {
        if (done) return;
        stillWaiting().then(function (waiting) {
          if (!waiting) finish();
          else timer = setTimeout(poll, 1000);
        });
      }
      timer = setTimeout(poll, 1000);
    });
  }

  // ---------------------------------------------------------------- Stripe

  function StripeInstance(key, options) {
    if (typeof key !== 'string' || !/^pk_(test|live)_/.test(key)) {
      if (typeof key === 'string' && /^(sk|rk)_/.test(key)) {
        throw IntegrationError('You should not use your secret key with Stripe.js.\nPlease pass a publishable key instead.');
      }
      throw IntegrationError('Invalid value for Stripe(): apiKey should be a string. You specified: ' + key + '.');
    }
    options = options || {};
    this._key = key;
    this._options = options;
    this._locale = options.locale || 'auto';
    this._api = new Api(key, options);
    this._apiVersion = options.apiVersion;
  }

  StripeInstance.prototype.elements = function (options) {
    return new Elements(this, options);
  };

  StripeInstance.prototype._retrieve = function (kind, secret) {
    var parsed = parseSecret(secret, kind, kind === 'setup_intent' ? 'retrieveSetupIntent' : 'retrievePaymentIntent');
    return this._api.request('GET', intentPath(parsed.kind, parsed.id), { client_secret: secret });
  };

  StripeInstance.prototype.retrievePaymentIntent = function (clientSecret) {
    return this._retrieve('payment_intent', clientSecret).then(function (result) {
      return result.error ? { error: result.error } : { paymentIntent: result.data };
    });
  };

  StripeInstance.prototype.retrieveSetupIntent = function (clientSecret) {
    return this._retrieve('setup_intent', clientSecret).then(function (result) {
      return result.error ? { error: result.error } : { setupIntent: result.data };
    });
  };

  /** A PaymentMethod from an element (validated first) or from plain data. */
  StripeInstance.prototype._createPaymentMethod = function (element, billing, extra) {
    var error = element._validateAll();
    if (error) return Promise.resolve({ error: error });
    var params = Object.assign(element._paymentMethodData(billing), extra || {});
    return this._api.request('POST', '/v1/payment_methods', params).then(function (result) {
      return result.error ? { error: result.error } : { paymentMethod: result.data };
    });
  };

  StripeInstance.prototype.createPaymentMethod = function (options) {
    options = options || {};
    if (options.elements) {
      var element = options.elements._primary();
      if (!element) throw IntegrationError('createPaymentMethod: no mounted Element to read payment details from.');
      var params = options.params || {};
      var extra = {};
      if (params.metadata) extra.metadata = params.metadata;
      if (params.allow_redisplay) extra.allow_redisplay = params.allow_redisplay;
      var self = this;
      return options.elements._ready.then(function () {
        return self._createPaymentMethod(element, params.billing_details, extra);
      });
    }
    var element2 = options.card || options.sepa_debit || options.ideal;
    var rest = {};
    Object.keys(options).forEach(function (name) {
      if (['type', 'card', 'sepa_debit', 'ideal', 'billing_details'].indexOf(name) < 0) rest[name] = options[name];
    });
    if (element2 instanceof Element) return this._createPaymentMethod(element2, options.billing_details, rest);
    var data = Object.assign({}, options);
    return this._api.request('POST', '/v1/payment_methods', data).then(function (result) {
      return result.error ? { error: result.error } : { paymentMethod: result.data };
    });
  };

  StripeInstance.prototype.createToken = function (element, data) {
    if (!(element instanceof Element)) throw IntegrationError('createToken: pass a card Element.');
    var error = element._validateAll();
    if (error) return Promise.resolve({ error: error });
    var method = element._paymentMethodData();
    var card = Object.assign({}, method.card);
    data = data || {};
    ['name', 'address_line1', 'address_line2', 'address_city', 'address_state', 'address_zip', 'address_country', 'currency']
      .forEach(function (name) { if (data[name] !== undefined) card[name] = data[name]; });
    var postal = method.billing_details && method.billing_details.address && method.billing_details.address.postal_code;
    if (postal && card.address_zip === undefined) card.address_zip = postal;
    return this._api.request('POST', '/v1/tokens', { card: card }).then(function (result) {
      return result.error ? { error: result.error } : { token: result.data };
    });
  };

  /** What Stripe.js resolves with for an intent that came back from the API. */
  function intentResult(kind, intent) {
    var key = resultKey(kind);
    var errorField = kind === 'setup_intent' ? 'last_setup_error' : 'last_payment_error';
    var lastError = intent[errorField];
    if (intent.status === 'requires_payment_method' && lastError) {
      var error = Object.assign({}, lastError);
      if (error.code === 'payment_intent_authentication_failure' || error.code === 'setup_intent_authentication_failure') {
        error.message = AUTHENTICATION_FAILED;
      }
      error[kind] = intent;
      return { error: error };
    }
    var out = {};
    out[key] = intent;
    return out;
  }

  function errorResult(kind, error) {
    return { error: error };
  }

  function redirectTo(url) {
    window.location.assign(url);
    // The page is going away; Stripe.js's promise never settles in this case.
    return new Promise(function () {});
  }

  function returnUrlWith(returnUrl, kind, intent) {
    var url = new URL(returnUrl, window.location.href);
    var status = intent.status === 'succeeded' || intent.status === 'requires_capture' ? 'succeeded' :
      intent.status === 'processing' ? 'processing' : 'failed';
    url.searchParams.set(kind, intent.id);
    url.searchParams.set(kind + '_client_secret', intent.client_secret);
    url.searchParams.set('redirect_status', status);
    return url.toString();
  }

  /**
   * After confirming: follow ``next_action`` (navigate for redirect_to_url, a modal for
   * use_stripe_sdk), then resolve like Stripe.js or navigate to return_url.
   */
  StripeInstance.prototype._afterConfirm = function (kind, intent, opts) {
    var self = this;
    var action = intent.next_action;
    if (intent.status === 'requires_action' && action && opts.handleActions !== false) {
      if (action.type === 'redirect_to_url') return redirectTo(action.redirect_to_url.url);
      if (action.type === 'use_stripe_sdk' && action.use_stripe_sdk && action.use_stripe_sdk.stripe_js) {
        var secret = intent.client_secret;
        var waiting = function () {
          return self._retrieve(kind, secret).then(function (r) { return !r.data || r.data.status === 'requires_action'; });
        };
        return openChallenge(action.use_stripe_sdk.stripe_js, waiting).then(function () {
          return self._retrieve(kind, secret);
        }).then(function (refreshed) {
          if (refreshed.error) return errorResult(kind, refreshed.error);
          return self._afterConfirm(kind, refreshed.data, Object.assign({}, opts, { handleActions: false }));
        });
      }
    }
    var result = intentResult(kind, intent);
    if (!result.error && opts.redirect === 'always' && opts.returnUrl && intent.status !== 'requires_action') {
      return redirectTo(returnUrlWith(opts.returnUrl, kind, intent));
    }
    return Promise.resolve(result);
  };

  var REDIRECT_TYPES = ['ideal'];

  /** confirmPayment / confirmSetup with the Payment Element. */
  StripeInstance.prototype._confirmWithElements = function (kind, options, method) {
    var self = this;
    options = options || {};
    var elements = options.elements;
    var confirmParams = Object.assign({}, options.confirmParams || {});
    var redirect = options.redirect || 'always';
    if (redirect !== 'always' && redirect !== 'if_required') {
      throw IntegrationError('Invalid value for ' + method + ': redirect should be one of the following strings: always, if_required. You specified: ' + redirect + '.');
    }
    var secret = options.clientSecret || (elements && elements._clientSecret);
    if (!elements) throw IntegrationError('Invalid value for ' + method + ': elements should be an Elements group. You specified: undefined.');
    if (!secret) throw IntegrationError(method + '(): the `clientSecret` argument is required when the Elements group was created without one.');
    var parsed = parseSecret(secret, kind, method);
    if (redirect === 'always' && !confirmParams.return_url) {
      throw IntegrationError(method + '(): the `confirmParams.return_url` argument is required unless passing `redirect: \'if_required\'`');
    }
    return elements._ready.then(function () {
      var element = elements._primary();
      if (!element) throw IntegrationError(method + '(): the Payment Element is not mounted.');
      var pmData = confirmParams.payment_method_data || {};
      delete confirmParams.payment_method_data;
      var extra = {};
      if (pmData.metadata) extra.metadata = pmData.metadata;
      if (pmData.allow_redisplay) extra.allow_redisplay = pmData.allow_redisplay;
      var created = confirmParams.payment_method
        ? Promise.resolve({ paymentMethod: { id: confirmParams.payment_method, type: null } })
        : self._createPaymentMethod(element, pmData.billing_details, extra);
      return created.then(function (made) {
        if (made.error) return { error: made.error };
        var returnUrl = confirmParams.return_url;
        var params = Object.assign({}, confirmParams, {
          client_secret: secret,
          payment_method: made.paymentMethod.id,
          use_stripe_sdk: true,
        });
        // Cards that need 3D Secure are handled in place when the page asked not to leave.
        var redirects = REDIRECT_TYPES.indexOf(made.paymentMethod.type) >= 0;
        if (redirect === 'if_required' && !redirects) delete params.return_url;
        else if (!returnUrl && redirects) {
          throw IntegrationError(method + '(): a return_url is required for ' + made.paymentMethod.type + ' payments.');
        }
        return self._api.request('POST', intentPath(parsed.kind, parsed.id) + '/confirm', params)
          .then(function (result) {
            if (result.error) return errorResult(kind, result.error);
            return self._afterConfirm(kind, result.data, { redirect: redirect, returnUrl: returnUrl });
          });
      });
    });
  };

  StripeInstance.prototype.confirmPayment = function (options) {
    return this._confirmWithElements('payment_intent', options, 'confirmPayment');
  };

  StripeInstance.prototype.confirmSetup = function (options) {
    return this._confirmWithElements('setup_intent', options, 'confirmSetup');
  };

  /** confirmCardPayment / confirmCardSetup and their SEPA/iDEAL siblings. */
  StripeInstance.prototype._confirmWithData = function (kind, pmType, clientSecret, data, options, method) {
    var self = this;
    var parsed = parseSecret(clientSecret, kind, method);
    data = Object.assign({}, data || {});
    options = options || {};
    var pm = data.payment_method;
    delete data.payment_method;
    var made;
    if (pm && typeof pm === 'object') {
      var element = pm[pmType];
      if (element instanceof Element) {
        var extra = {};
        if (pm.metadata) extra.metadata = pm.metadata;
        made = element._group._ready.then(function () {
          return self._createPaymentMethod(element, pm.billing_details, extra);
        });
      } else {
        made = self._api.request('POST', '/v1/payment_methods', Object.assign({ type: pmType }, pm))
          .then(function (r) { return r.error ? { error: r.error } : { paymentMethod: r.data }; });
      }
    } else {
      made = Promise.resolve({ paymentMethod: pm ? { id: pm } : null });
    }
    return made.then(function (created) {
      if (created.error) return { error: created.error };
      var params = Object.assign({}, data, { client_secret: clientSecret, use_stripe_sdk: true });
      if (created.paymentMethod) params.payment_method = created.paymentMethod.id;
      return self._api.request('POST', intentPath(parsed.kind, parsed.id) + '/confirm', params).then(function (result) {
        if (result.error) return errorResult(kind, result.error);
        return self._afterConfirm(kind, result.data, { handleActions: options.handleActions, redirect: 'if_required' });
      });
    });
  };

  StripeInstance.prototype.confirmCardPayment = function (clientSecret, data, options) {
    return this._confirmWithData('payment_intent', 'card', clientSecret, data, options, 'confirmCardPayment');
  };
  StripeInstance.prototype.confirmCardSetup = function (clientSecret, data, options) {
    return this._confirmWithData('setup_intent', 'card', clientSecret, data, options, 'confirmCardSetup');
  };
  StripeInstance.prototype.confirmSepaDebitPayment = function (clientSecret, data, options) {
    return this._confirmWithData('payment_intent', 'sepa_debit', clientSecret, data, options, 'confirmSepaDebitPayment');
  };
  StripeInstance.prototype.confirmSepaDebitSetup = function (clientSecret, data, options) {
    return this._confirmWithData('setup_intent', 'sepa_debit', clientSecret, data, options, 'confirmSepaDebitSetup');
  };
  StripeInstance.prototype.confirmIdealPayment = function (clientSecret, data, options) {
    return this._confirmWithData('payment_intent', 'ideal', clientSecret, data, options, 'confirmIdealPayment');
  };

  /** handleNextAction / handleCardAction: finish a requires_action intent in place. */
  StripeInstance.prototype.handleNextAction = function (options) {
    var self = this;
    var secret = options && options.clientSecret;
    var parsed = parseSecret(secret, null, 'handleNextAction');
    return this._retrieve(parsed.kind, secret).then(function (result) {
      if (result.error) return { error: result.error };
      var intent = result.data;
      if (intent.status !== 'requires_action') {
        var out = {};
        out[resultKey(parsed.kind)] = intent;
        return intentResult(parsed.kind, intent).error ? intentResult(parsed.kind, intent) : out;
      }
      return self._afterConfirm(parsed.kind, intent, { redirect: 'if_required' });
    });
  };

  StripeInstance.prototype.handleCardAction = function (clientSecret) {
    return this.handleNextAction({ clientSecret: clientSecret });
  };
  StripeInstance.prototype.handleCardSetup = StripeInstance.prototype.confirmCardSetup;

  StripeInstance.prototype.registerAppInfo = function () {};

  function Stripe(key, options) {
    return new StripeInstance(key, options);
  }
  Stripe.version = 3;
  Stripe.billfold = VERSION;
  Stripe.apiBase = API_BASE;

  if (!window.Stripe) window.Stripe = Stripe;
})();
