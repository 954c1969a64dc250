//! Every MTN operation is routed, and `docs/compatibility.md` lists each with its status.

use momo_server::api::surface::OPERATIONS;
use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn every_operation_is_routed_and_unimplemented_ones_say_so_in_momo_shape() {
    let app = spawn_app().await;
    for op in OPERATIONS {
        let path = op
            .full_route()
            .replace("{referenceId}", &uuid::Uuid::new_v4().to_string())
            .replace("{accountHolderIdType}", "msisdn")
            .replace("{accountHolderId}", "46733123450")
            .replace("{currency}", "EUR")
            .replace("{preapprovalid}", "x");
        let method = Method::from_bytes(op.method.as_bytes()).unwrap();
        let key = op.product.map_or(COLLECTION_KEY, |p| key_for(p.as_str()));
        let response = app.client.request(method, app.url(&path)).header("Ocp-Apim-Subscription-Key", key).send().await;
        let (status, body) = status_and_body(response.unwrap()).await;
        assert_ne!(body, NOT_FOUND_ROUTE_BODY, "{} {path} is not routed", op.method);
        if !op.implemented {
            assert_eq!(status, 501, "{} {path}", op.method);
            let body: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body["code"], "NOT_IMPLEMENTED");
            assert!(body["message"].as_str().unwrap().contains(op.operation_id));
        }
    }
}

#[test]
fn the_compatibility_page_lists_every_operation_with_its_status() {
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/compatibility.md")).unwrap();
    for op in OPERATIONS {
        let product = op.product.map_or("provisioning", |p| p.as_str());
        let status = if op.implemented { "implemented" } else { "not implemented" };
        let row = format!("| {product} | {} | `{}` | {} | {status} |", op.operation_id, op.method, op.route);
        assert!(page.contains(&row), "docs/compatibility.md lacks the row:\n{row}");
    }
}
