-- dim_team_member: every team member, ACTIVE and INACTIVE.
CREATE OR REPLACE TABLE dim_team_member AS
SELECT
    id AS team_member_id,
    given_name,
    family_name,
    nullif(trim(concat_ws(' ', given_name, family_name)), '') AS name,
    status,
    coalesce(is_owner, false) AS is_owner
FROM stg_team_members
