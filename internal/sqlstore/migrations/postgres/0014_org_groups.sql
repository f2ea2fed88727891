-- Organization groups: a group holds organizations (each in at most one
-- group) and has admins, each a user of one of the group's organizations,
-- who administer every organization of the group.
CREATE TABLE org_groups (
	id         text PRIMARY KEY,
	slug       text COLLATE "C" NOT NULL UNIQUE,
	name       text NOT NULL,
	created_at bigint NOT NULL
);

ALTER TABLE organizations ADD COLUMN group_id text REFERENCES org_groups (id);
CREATE INDEX organizations_group_id ON organizations (group_id);

-- Deleting a user deletes what they administer through groups.
CREATE TABLE org_group_admins (
	group_id   text NOT NULL REFERENCES org_groups (id),
	user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at bigint NOT NULL,
	PRIMARY KEY (group_id, user_id)
);

CREATE INDEX org_group_admins_user_id ON org_group_admins (user_id);
