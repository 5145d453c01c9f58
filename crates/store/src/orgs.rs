use diesel::prelude::*;
use palisade_domain::ids::OrgId;
use palisade_domain::org::Organization;

use crate::db::{write_tx, DbConn};
use crate::schema::organizations;
use crate::{time, StoreError};

/// The organisation of that name, created when it does not exist yet.
pub fn get_or_create(conn: &mut DbConn, name: &str) -> Result<Organization, StoreError> {
    write_tx(conn, |conn| {
        let existing: Option<(String, String)> = organizations::table
            .filter(organizations::name.eq(name))
            .select((organizations::id, organizations::name))
            .first(conn)
            .optional()?;
        let (id, name) = match existing {
            Some(row) => row,
            None => {
                let id = OrgId::generate().to_string();
                diesel::insert_into(organizations::table)
                    .values((
                        organizations::id.eq(&id),
                        organizations::name.eq(name),
                        organizations::created_at.eq(time::now()),
                    ))
                    .execute(conn)?;
                (id, name.to_string())
            }
        };
        Ok(Organization {
            id: crate::parse_id(&id)?,
            name,
        })
    })
}

pub fn get(conn: &mut DbConn, id: OrgId) -> Result<Organization, StoreError> {
    let name: String = organizations::table
        .find(id.to_string())
        .select(organizations::name)
        .first(conn)?;
    Ok(Organization { id, name })
}
