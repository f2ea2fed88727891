-- Sends are reserved before delivery (ReserveSend) and counted by kind and
-- by client network. kind tells the sign-in codes, which the code-send caps
-- count, from the other messages still logged here (password reset e-mails,
-- RecordSend), which they do not. client_net is the client's network as
-- gatehouse.ClientNetwork gives it ("203.0.113.0/24", "2001:db8:1:2::/64"),
-- "" when the client is unknown.
--
-- The rows already here were all counted as codes before, so they stay
-- codes. Their IPv4 addresses get their /24 (the digits after the last dot
-- become 0); IPv6 ones keep "" and so count against no network for the
-- rest of their window (at most gatehouse.SendWindow after the upgrade).

ALTER TABLE code_sends ADD COLUMN kind text NOT NULL DEFAULT 'code';

ALTER TABLE code_sends ADD COLUMN client_net text NOT NULL DEFAULT '';

UPDATE code_sends SET client_net = rtrim(client_ip, '0123456789') || '0/24'
WHERE client_ip <> '' AND client_ip NOT LIKE '%:%';

CREATE INDEX code_sends_client_net ON code_sends (client_net, sent_at);
