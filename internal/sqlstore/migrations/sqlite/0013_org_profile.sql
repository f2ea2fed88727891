-- An organization's time zone (an IANA name such as Europe/Helsinki; ''
-- means the server's) and country (ISO 3166-1 alpha-2 such as FI; '' for
-- none), for times shown in its zone and phone numbers typed the national
-- way.
ALTER TABLE organizations ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
ALTER TABLE organizations ADD COLUMN country TEXT NOT NULL DEFAULT '';
