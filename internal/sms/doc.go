// Package sms sends one-time codes by SMS: through Twilio's Messages API, or
// through a signed HTTP webhook for any other gateway. It also writes the
// text of those messages, ending with the origin-bound one-time code line
// ("@gatehouse.example.com #123456") that lets phones and browsers fill the
// code in (https://wicg.github.io/sms-one-time-codes/, used by the WebOTP API).
//
// Both senders implement Provider. Send returns an ordinary error when the
// provider refuses the message, answers with anything but 2xx, or does not
// answer within the configured timeout (10 seconds by default). The error
// says what the provider said (Twilio's error code and message, the webhook's
// HTTP status) and never carries a credential or the message body; the caller
// logs it once and shows the user gatehouse.EDELIVERYFAILED. Neither sender
// follows redirects, so credentials and signed bodies go only to the
// configured address, and neither retries: a retry is the user's resend.
//
// # Twilio
//
// Twilio sends POST {APIURL}/2010-04-01/Accounts/{AccountSID}/Messages.json
// with the form fields To, Body and either From (a phone number in E.164) or
// MessagingServiceSid (a Messaging Service SID, "MG…"), authenticated with
// HTTP basic auth (the Account SID and the Auth Token). Twilio answers
// 201 Created with the new Message resource, or an error status with a JSON
// object {"code", "message", "more_info", "status"}; the code (such as 21211,
// "invalid 'To' phone number") is kept in a *TwilioError.
//
// # Webhook
//
// Webhook POSTs, to a URL of the operator's choice, the JSON object
//
//	{"to": "+358401234567", "body": "Your Example Clinic sign-in code is …"}
//
// with Content-Type application/json and two headers:
//
//	X-Gatehouse-Timestamp: 1767225600
//	X-Gatehouse-Signature: v1=5f2b…(64 lower-case hex digits)
//
// The timestamp is the time of sending in decimal Unix seconds. The signature
// is "v1=" followed by the hex-encoded HMAC-SHA256, keyed with the shared
// secret (the bytes of GATEHOUSE_SMS_WEBHOOK_SECRET, at least 32), of the
// timestamp, a full stop and the request body exactly as received:
//
//	hex(HMAC-SHA256(secret, "1767225600" + "." + body))
//
// A gateway that receives it should:
//
//  1. read the raw body (a few KiB at most) before parsing it;
//  2. recompute the HMAC over timestamp + "." + raw body and compare it with
//     the signature in constant time; the header may hold several
//     comma-separated signatures (v1=…,v1=…) during a change of secret, and
//     one match is enough; unknown schemes are ignored;
//  3. refuse a timestamp more than five minutes away from its own clock, in
//     either direction, so that a captured request cannot be replayed later
//     (a gateway that must never send twice may also remember the signatures
//     it saw in the last ten minutes);
//  4. answer 2xx only once it has accepted the message for delivery; any
//     other status makes Gatehouse tell the user the code could not be sent.
//
// VerifyWebhook does steps 2 and 3 for gateways written in Go, and is what
// this package's own tests use.
package sms
