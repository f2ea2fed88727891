-- Organization groups: a group holds organizations (each in at most one
-- group) and has admins, each a user of one of the group's organizations,
-- who administer every organization of the group.
CREATE TABLE org_groups (
	id         TEXT NOT NULL PRIMARY KEY,
	slug       TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;

ALTER TABLE organizations ADD COLUMN group_id TEXT REFERENCES org_groups (id);
CREATE INDEX organizations_group_id ON organizations (group_id);

-- Deleting a user deletes what they administer through groups.
CREATE TABLE org_group_admins (
	group_id   TEXT NOT NULL REFERENCES org_groups (id),
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (group_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX org_group_admins_user_id ON org_group_admins (user_id);
