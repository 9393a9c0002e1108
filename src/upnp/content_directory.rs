//! ContentDirectory:1 actions over the library: Browse, Search, the
//! capability queries, and Samsung's X_GetFeatureList / X_SetBookmark.
//! Input: a parsed `ActionCall`; output: out-arguments or a `UpnpError`.

use super::didl::{self, Filter, Presentation};
use super::search::{Criteria, Sort, SEARCH_CAPS, SORT_CAPS};
use super::soap::{ActionCall, UpnpError};
use crate::catalog::Catalog;
use crate::library::{Library, Object, ObjectId};

pub const SERVICE_TYPE: &str = "urn:schemas-upnp-org:service:ContentDirectory:1";

pub struct Context<'a> {
    pub library: Library<'a>,
    pub catalog: &'a Catalog,
    pub presentation: Presentation<'a>,
}

type Out = Vec<(&'static str, String)>;

fn failed(e: impl std::fmt::Display) -> UpnpError {
    UpnpError::action_failed(e.to_string())
}

fn class_of(o: &Object) -> &'static str {
    match o {
        Object::Container(_) => didl::CONTAINER_CLASS,
        Object::Item(i) => didl::upnp_class(i.kind),
    }
}

/// StartingIndex/RequestedCount paging (0 = all).
fn page(objects: Vec<Object>, start: u32, count: u32) -> Vec<Object> {
    let it = objects.into_iter().skip(start as usize);
    if count == 0 {
        it.collect()
    } else {
        it.take(count as usize).collect()
    }
}

pub fn handle(call: &ActionCall, ctx: &Context<'_>) -> Result<Out, UpnpError> {
    match call.action.as_str() {
        "Browse" => browse(call, ctx),
        "Search" => search(call, ctx),
        "GetSearchCapabilities" => Ok(vec![("SearchCaps", SEARCH_CAPS.into())]),
        "GetSortCapabilities" => Ok(vec![("SortCaps", SORT_CAPS.into())]),
        "GetSystemUpdateID" => Ok(vec![(
            "Id",
            ctx.catalog.system_update_id().map_err(failed)?.to_string(),
        )]),
        "X_GetFeatureList" => Ok(vec![("FeatureList", feature_list())]),
        "X_SetBookmark" => set_bookmark(call, ctx),
        other => Err(UpnpError::invalid_action(format!(
            "ContentDirectory has no action {other}"
        ))),
    }
}

fn object_id<'c>(call: &'c ActionCall, names: &[&str]) -> Result<&'c str, UpnpError> {
    names
        .iter()
        .find_map(|n| call.arg(n))
        .ok_or_else(|| UpnpError::invalid_args(format!("missing argument {}", names[0])))
}

fn browse(call: &ActionCall, ctx: &Context<'_>) -> Result<Out, UpnpError> {
    // Xbox sends ContainerID instead of ObjectID.
    let raw_id = object_id(call, &["ObjectID", "ContainerID"])?;
    let flag = call.required("BrowseFlag")?;
    let filter = Filter::parse(call.arg("Filter").unwrap_or("*"));
    let start = call.number("StartingIndex")?;
    let count = call.number("RequestedCount")?;
    let sort = Sort::parse(
        ctx.presentation
            .quirks
            .sort
            .criteria(call.arg("SortCriteria").unwrap_or("")),
    )
    .map_err(UpnpError::bad_sort)?;
    let id = ObjectId::parse(raw_id.trim()).ok_or_else(|| UpnpError::no_such_object(raw_id))?;
    let (objects, total) = match flag {
        "BrowseMetadata" => {
            let o = ctx
                .library
                .object(&id)
                .map_err(failed)?
                .ok_or_else(|| UpnpError::no_such_object(raw_id))?;
            (vec![o], 1)
        }
        "BrowseDirectChildren" => match &id {
            // A torrent may hold thousands of files: page in the catalog.
            ObjectId::Torrent(ih) => {
                let limit = (count > 0).then_some(count as usize);
                ctx.library
                    .items_page(
                        ih,
                        sort.title_order_among_equal_dates(),
                        start as usize,
                        limit,
                    )
                    .map_err(failed)?
                    .ok_or_else(|| UpnpError::no_such_object(raw_id))?
            }
            _ => {
                let mut children = match ctx.library.children(&id).map_err(failed)? {
                    Some(c) => c,
                    None if ctx.library.object(&id).map_err(failed)?.is_some() => {
                        return Err(UpnpError::no_such_container(raw_id))
                    }
                    None => return Err(UpnpError::no_such_object(raw_id)),
                };
                sort.apply(&mut children);
                let total = children.len();
                (page(children, start, count), total)
            }
        },
        other => {
            return Err(UpnpError::invalid_args(format!(
                "BrowseFlag {other:?} is neither BrowseMetadata nor BrowseDirectChildren"
            )))
        }
    };
    result(objects, total, &filter, ctx)
}

fn result(
    objects: Vec<Object>,
    total: usize,
    filter: &Filter,
    ctx: &Context<'_>,
) -> Result<Out, UpnpError> {
    Ok(vec![
        ("Result", didl::write(&objects, filter, &ctx.presentation)),
        ("NumberReturned", objects.len().to_string()),
        ("TotalMatches", total.to_string()),
        (
            "UpdateID",
            ctx.catalog.system_update_id().map_err(failed)?.to_string(),
        ),
    ])
}

/// Is `id` below (or equal to) `ancestor`?
fn within(id: &ObjectId, ancestor: &ObjectId) -> bool {
    let mut cur = Some(id.clone());
    while let Some(c) = cur {
        if &c == ancestor {
            return true;
        }
        cur = c.parent();
    }
    false
}

fn search(call: &ActionCall, ctx: &Context<'_>) -> Result<Out, UpnpError> {
    let raw_id = call.required("ContainerID")?;
    let criteria =
        Criteria::parse(call.required("SearchCriteria")?).map_err(UpnpError::bad_search)?;
    let filter = Filter::parse(call.arg("Filter").unwrap_or("*"));
    let start = call.number("StartingIndex")?;
    let count = call.number("RequestedCount")?;
    let sort = Sort::parse(
        ctx.presentation
            .quirks
            .sort
            .criteria(call.arg("SortCriteria").unwrap_or("")),
    )
    .map_err(UpnpError::bad_sort)?;
    let scope =
        ObjectId::parse(raw_id.trim()).ok_or_else(|| UpnpError::no_such_container(raw_id))?;
    if ctx.library.children(&scope).map_err(failed)?.is_none() {
        return Err(UpnpError::no_such_container(raw_id));
    }
    let mut found: Vec<Object> = ctx
        .library
        .all_containers()
        .map_err(failed)?
        .into_iter()
        .chain(ctx.library.all_items().map_err(failed)?)
        .filter(|o| o.id() != &scope && within(o.id(), &scope))
        .filter(|o| criteria.matches(o, class_of(o)))
        .collect();
    sort.apply(&mut found);
    let total = found.len();
    result(page(found, start, count), total, &filter, ctx)
}

fn feature_list() -> String {
    concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        r#"<Features xmlns="urn:schemas-upnp-org:av:avs" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance""#,
        r#" xsi:schemaLocation="urn:schemas-upnp-org:av:avs http://www.upnp.org/schemas/av/avs.xsd">"#,
        r#"<Feature name="samsung.com_BASICVIEW" version="1">"#,
        r#"<container id="added" type="object.item.videoItem"/>"#,
        r#"<container id="added" type="object.item.audioItem"/>"#,
        r#"<container id="added" type="object.item.imageItem"/>"#,
        r#"</Feature></Features>"#
    )
    .to_owned()
}

fn set_bookmark(call: &ActionCall, ctx: &Context<'_>) -> Result<Out, UpnpError> {
    let raw_id = call.required("ObjectID")?;
    let secs = call.number("PosSecond")?;
    let id = ObjectId::parse(raw_id.trim()).ok_or_else(|| UpnpError::no_such_object(raw_id))?;
    if ctx.library.object(&id).map_err(failed)?.is_none() {
        return Err(UpnpError::no_such_object(raw_id));
    }
    ctx.catalog
        .set_bookmark(&id.to_string(), u64::from(secs) * 1000)
        .map_err(failed)?;
    Ok(vec![])
}
