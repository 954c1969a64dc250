//! OpenAPI 3.1 documents of openmomo's two HTTP APIs, built from the tables this crate keeps, so
//! that they cannot drift from what the server routes and writes:
//!
//! - [`momo_api`]: every MoMo operation of [`OPERATIONS`] at its full route, with MTN's headers,
//!   the security each needs, the bodies (JSON Schemas derived from this crate's structs), the
//!   error bodies of each shape, links from a create to its status operation and `callbacks`
//!   with the method of [`Operation::callback`].
//! - [`operator_api`]: every call of [`AdminOperation::ALL`] under [`admin::PREFIX`].
//!
//! What the documents cover and how they differ from MTN's exports: docs/openapi.md. Only with
//! the `schema` feature.

use std::sync::LazyLock;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::account::Balance;
use crate::admin::{self, AdminOperation};
use crate::kyc::{BasicUserInfo, UserInfo};
use crate::operations::{Operation, OperationName, TransactionKind, OPERATIONS};
use crate::payments::{
    BooleanResult, CancelInvoice, CashTransfer, CashTransferResult, CreateInvoice, CreatePayments,
    DeliveryNotification, DepositResult, InvoiceResult, PaymentResult, PreApproval, PreApprovalDetails,
    PreApprovalResult, Refund, RequestToPay, RequestToPayResult, Transfer, TransferResult,
};
use crate::provisioning::{ApiKeyCreated, ApiUserInfo, CreateApiUser};
use crate::token::{AccessToken, BcAuthorizeRequest, BcAuthorizeResponse, ConsentToken, Oauth2TokenRequest};
use crate::{headers, ApimError, ErrorReason, Product, ReferenceId, TokenError, ENVIRONMENTS};

/// The OpenAPI version both documents are written in.
const OPENAPI_VERSION: &str = "3.1.0";

/// The MoMo Open API as openmomo serves it.
pub fn momo_api() -> Value {
    momo_document(OPERATIONS)
}

/// [`momo_api`] as compact JSON, built once (a few milliseconds) and kept: the server serves it.
pub fn momo_api_json() -> &'static str {
    static TEXT: LazyLock<String> = LazyLock::new(|| momo_api().to_string());
    &TEXT
}

/// [`operator_api`] as compact JSON, built once and kept.
pub fn operator_api_json() -> &'static str {
    static TEXT: LazyLock<String> = LazyLock::new(|| operator_api().to_string());
    &TEXT
}

/// The operator API (`/_momo/admin/…`), openmomo's own.
pub fn operator_api() -> Value {
    let mut schemas = Schemas::new();
    let mut paths = Map::new();
    for op in AdminOperation::ALL {
        let operation = operator_operation(&mut schemas, op);
        add_operation(&mut paths, &op.full_route(), op.method(), operation);
    }
    json!({
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "openmomo operator API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "openmomo's own API, not MTN's: what MTN's Partner Portal does for production API \
                            users, subscription keys, and the controls a test needs (answering for the payer, \
                            balances, callbacks, fault injection). Every call but this document needs the operator \
                            token (`Authorization: Bearer …`). See docs/operator-api.md.",
            "license": { "name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0" },
        },
        "paths": paths,
        "components": {
            "schemas": schemas.definitions(),
            "securitySchemes": {
                "OperatorToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The operator token `momo serve` prints on first start, or sets with --admin-token.",
                },
            },
            "headers": common_headers(),
        },
        "security": [{ "OperatorToken": [] }],
    })
}

/// The MoMo document of `operations` (a test gives it a table with an operation not implemented).
fn momo_document(operations: &[Operation]) -> Value {
    let mut schemas = Schemas::new();
    let mut paths = Map::new();
    for op in operations {
        let operation = momo_operation(&mut schemas, op, operations);
        add_operation(&mut paths, &op.full_route(), op.method, operation);
    }
    let reference_id = schemas.of::<ReferenceId>();
    json!({
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "MoMo Open API (openmomo)",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "MTN's MoMo Open API as openmomo serves it: sandbox provisioning and the Collection, \
                            Disbursement and Remittance products, with MTN's paths, headers and bodies. Amounts are \
                            decimal strings. Creates answer 202 and report the outcome through the status operation \
                            and a callback. The operator's fault rules can make any operation answer any status \
                            and body. Token paths are also served without their trailing slash. See \
                            docs/openapi.md and docs/compatibility.md.",
            "license": { "name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0" },
        },
        "tags": [
            { "name": "provisioning", "description": "Sandbox API users and keys (no product prefix)." },
            { "name": "collection", "description": "Get paid: requests to pay, withdrawals, invoices, \
                                                    pre-approvals, payments." },
            { "name": "disbursement", "description": "Pay out: transfers, deposits, refunds." },
            { "name": "remittance", "description": "Cross-border: transfers and cash transfers." },
        ],
        "paths": paths,
        "components": {
            "schemas": schemas.definitions(),
            "securitySchemes": {
                "SubscriptionKey": {
                    "type": "apiKey", "in": "header", "name": "Ocp-Apim-Subscription-Key",
                    "description": "A subscription key of the product (any product for provisioning).",
                },
                "SubscriptionKeyQuery": {
                    "type": "apiKey", "in": "query", "name": headers::SUBSCRIPTION_KEY_QUERY,
                    "description": "The subscription key as a query parameter; the header wins if both are sent.",
                },
                "ApiUser": {
                    "type": "http", "scheme": "basic",
                    "description": "The API user as user name and its API key as password.",
                },
                "AccessToken": {
                    "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "An access token from `POST /{product}/token/`.",
                },
                "ConsentToken": {
                    "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "A consent token from `POST /{product}/oauth2/token/`.",
                },
            },
            "parameters": {
                "X-Reference-Id": {
                    "name": "X-Reference-Id", "in": "header", "required": true,
                    "description": "The id of what the request creates, chosen by the client: a retry with the \
                                    same id never creates twice (409).",
                    "schema": reference_id,
                },
                "X-Target-Environment": {
                    "name": "X-Target-Environment", "in": "header", "required": true,
                    "description": "The API user's environment; any other value is a 500 \
                                    NOT_ALLOWED_TARGET_ENVIRONMENT.",
                    "schema": environment_schema(),
                },
                "X-Callback-Url": {
                    "name": "X-Callback-Url", "in": "header", "required": false,
                    "description": "Where the final status is sent (see `callbacks`); its host must be the API \
                                    user's providerCallbackHost (else 500 INVALID_CALLBACK_URL_HOST). Without it, an \
                                    API user with a Payment Server URL is called back there.",
                    "schema": { "type": "string", "format": "uri" },
                },
            },
            "headers": common_headers(),
        },
    })
}

/// The JSON Schemas of the bodies, collected under `#/components/schemas` as they are referenced.
struct Schemas(SchemaGenerator);

impl Schemas {
    fn new() -> Schemas {
        Schemas(
            SchemaSettings::draft2020_12()
                .with(|settings| {
                    settings.definitions_path = "/components/schemas".into();
                    settings.meta_schema = None;
                })
                .into_generator(),
        )
    }

    /// A reference to `T`'s schema (or the schema itself, for the types schemars inlines).
    fn of<T: JsonSchema>(&mut self) -> Value {
        self.0.subschema_for::<T>().to_value()
    }

    fn definitions(&mut self) -> Map<String, Value> {
        self.0.take_definitions(true)
    }
}

/// Add `operation` to the path item of `route` (several methods may share a route).
fn add_operation(paths: &mut Map<String, Value>, route: &str, method: &str, operation: Value) {
    let item = paths.entry(route.to_owned()).or_insert_with(|| json!({}));
    if let Value::Object(item) = item {
        item.insert(method.to_ascii_lowercase(), operation);
    }
}

/// The headers every answer carries.
fn common_headers() -> Value {
    json!({
        "X-Request-Id": {
            "description": "The id of the request in the server's logs.",
            "schema": { "type": "string" },
        },
    })
}

/// `X-Target-Environment`'s values: the sandbox and MTN's production environments.
fn environment_schema() -> Value {
    let names: Vec<&str> = ENVIRONMENTS.iter().map(|e| e.name).collect();
    json!({ "type": "string", "enum": names })
}

/// An answer: its description, and its JSON body if it has one.
fn answer(description: &str, body: Option<Value>) -> Value {
    let mut answer = json!({
        "description": description,
        "headers": { "X-Request-Id": { "$ref": "#/components/headers/X-Request-Id" } },
    });
    if let Some(schema) = body {
        answer["content"] = json!({ "application/json": { "schema": schema } });
    }
    answer
}

/// The shapes an error body comes in (docs/compatibility.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ErrorShape {
    /// MoMo's `{"code","message"}`.
    Momo,
    /// The gateway's (Azure API Management's) `{ "statusCode", "message" }`.
    Gateway,
    /// The token endpoint's and the consent flow's `{"error"}`.
    Token,
}

/// An error answer whose body is one of `shapes`.
fn error_answer(schemas: &mut Schemas, description: &str, shapes: &[ErrorShape]) -> Value {
    let mut bodies: Vec<Value> = shapes
        .iter()
        .map(|shape| match shape {
            ErrorShape::Momo => schemas.of::<ErrorReason>(),
            ErrorShape::Gateway => schemas.of::<ApimError>(),
            ErrorShape::Token => schemas.of::<TokenError>(),
        })
        .collect();
    let body = if bodies.len() == 1 { bodies.remove(0) } else { json!({ "anyOf": bodies }) };
    answer(description, Some(body))
}

/// What a MoMo operation needs besides the subscription key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credentials {
    /// Nothing (sandbox provisioning).
    None,
    /// `Authorization: Basic` with the API user and key.
    ApiUser,
    /// `Authorization: Bearer` with an access token.
    AccessToken,
    /// Either (`bc-authorize`: MTN's Collection and Remittance definitions say Bearer, the
    /// Disbursement one Basic; both are accepted on every product).
    ApiUserOrAccessToken,
    /// `Authorization: Bearer` with a consent token.
    ConsentToken,
}

impl Credentials {
    fn of(name: OperationName) -> Credentials {
        use OperationName as N;
        match name {
            N::CreateApiUser | N::GetApiUser | N::CreateApiKey => Credentials::None,
            N::CreateAccessToken | N::CreateOauth2Token => Credentials::ApiUser,
            N::BcAuthorize => Credentials::ApiUserOrAccessToken,
            N::GetUserInfoWithConsent => Credentials::ConsentToken,
            N::GetAccountBalance
            | N::GetAccountBalanceInSpecificCurrency
            | N::ValidateAccountHolderStatus
            | N::GetBasicUserinfo
            | N::RequestToPay
            | N::RequestToPayStatus
            | N::RequestToPayDeliveryNotification
            | N::RequestToWithdrawV1
            | N::RequestToWithdrawV2
            | N::RequestToWithdrawStatus
            | N::CreateInvoice
            | N::GetInvoiceStatus
            | N::CancelInvoice
            | N::PreApproval
            | N::GetPreApprovalStatus
            | N::GetApprovedPreApprovals
            | N::CancelPreApproval
            | N::CreatePayments
            | N::GetPaymentStatus
            | N::Transfer
            | N::GetTransferStatus
            | N::DepositV1
            | N::DepositV2
            | N::GetDepositStatus
            | N::RefundV1
            | N::RefundV2
            | N::GetRefundStatus
            | N::CashTransfer
            | N::GetCashTransferStatus => Credentials::AccessToken,
        }
    }

    /// The security schemes, one alternative per entry.
    fn schemes(self) -> &'static [&'static str] {
        match self {
            Credentials::None => &[],
            Credentials::ApiUser => &["ApiUser"],
            Credentials::AccessToken => &["AccessToken"],
            Credentials::ApiUserOrAccessToken => &["AccessToken", "ApiUser"],
            Credentials::ConsentToken => &["ConsentToken"],
        }
    }

    fn basic(self) -> bool {
        matches!(self, Credentials::ApiUser | Credentials::ApiUserOrAccessToken)
    }

    fn bearer(self) -> bool {
        matches!(self, Credentials::AccessToken | Credentials::ApiUserOrAccessToken | Credentials::ConsentToken)
    }
}

/// The security requirements: a subscription key (header or query) and the credentials.
fn security(credentials: Credentials) -> Value {
    let mut alternatives = Vec::new();
    for key in ["SubscriptionKey", "SubscriptionKeyQuery"] {
        if credentials.schemes().is_empty() {
            alternatives.push(json!({ key: [] }));
        }
        for scheme in credentials.schemes() {
            alternatives.push(json!({ key: [], *scheme: [] }));
        }
    }
    Value::Array(alternatives)
}

/// The `{…}` parameters of a route, in order.
fn path_parameters(route: &str) -> impl Iterator<Item = &str> {
    route.split('/').filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
}

/// A path parameter of a MoMo route.
fn momo_path_parameter(schemas: &mut Schemas, name: &str) -> Value {
    let (schema, description) = match name {
        "referenceId" | "preapprovalid" => {
            (schemas.of::<ReferenceId>(), "The X-Reference-Id the resource was created with.")
        }
        "accountHolderIdType" => (
            json!({ "type": "string", "enum": ["msisdn", "email", "party_code"] }),
            "How the account holder is identified (any case is read).",
        ),
        "accountHolderId" => (json!({ "type": "string" }), "The MSISDN, e-mail address or party code."),
        "currency" => (
            json!({ "type": "string", "examples": ["EUR"] }),
            "An ISO 4217 code, which must be the environment's (any case); else 500 INVALID_CURRENCY.",
        ),
        _ => (json!({ "type": "string" }), ""),
    };
    json!({ "name": name, "in": "path", "required": true, "schema": schema, "description": description })
}

/// The operationId: MTN's, prefixed by the product (MTN's ids repeat across its three exports).
fn operation_id(op: &Operation) -> String {
    match op.product {
        Some(product) => format!("{product}-{}", op.operation_id),
        None => op.operation_id.to_owned(),
    }
}

fn momo_operation(schemas: &mut Schemas, op: &Operation, operations: &[Operation]) -> Value {
    let credentials = Credentials::of(op.name);
    let mut parameters: Vec<Value> = path_parameters(op.route).map(|name| momo_path_parameter(schemas, name)).collect();
    parameters.extend(header_parameters(op, credentials));
    let tag = op.product.map_or("provisioning", Product::as_str);
    let mut operation = json!({
        "operationId": operation_id(op),
        "summary": op.operation_id,
        "tags": [tag],
        "x-mtn-operation-id": op.operation_id,
        "parameters": parameters,
        "security": security(credentials),
    });
    let mut unauthorized = vec![ErrorShape::Gateway];
    if credentials.bearer() {
        unauthorized.push(ErrorShape::Momo);
    }
    if credentials.basic() {
        unauthorized.push(ErrorShape::Token);
    }
    let mut responses = Map::new();
    responses.insert(
        "401".into(),
        error_answer(
            schemas,
            "The gateway refused the subscription key (missing, invalid or of another product), or the \
             credentials were refused.",
            &unauthorized,
        ),
    );
    if !op.implemented {
        operation["description"] = json!("Not implemented by openmomo: it answers 501 NOT_IMPLEMENTED.");
        operation["x-openmomo-implemented"] = json!(false);
        let not_implemented = "NOT_IMPLEMENTED: openmomo does not implement this operation yet.";
        responses.insert("501".into(), error_answer(schemas, not_implemented, &[ErrorShape::Momo]));
        operation["responses"] = Value::Object(responses);
        return operation;
    }
    let Description { body, status, success, mut refusals } = describe(schemas, op.name);
    responses.insert(status.into(), with_status_link(success, op, operations));
    // The consent flow and the token endpoint answer OAuth2's `{"error"}` shape too.
    let oauth = matches!(
        op.name,
        OperationName::CreateAccessToken | OperationName::BcAuthorize | OperationName::CreateOauth2Token
    );
    refusals.push(("400", "VALIDATION_ERROR: a header, path parameter or body is malformed."));
    if path_parameters(op.route).next().is_some() {
        refusals.push(("404", "The gateway's `Resource not found`: no operation has this path."));
    }
    if body.is_some() {
        refusals.push(("413", "PAYLOAD_TOO_LARGE: the body is over the server's limit."));
        refusals.push(("415", "VALIDATION_ERROR: the body is sent with another content type."));
    }
    refusals.push((
        "500",
        "MTN's synchronous refusals (NOT_ALLOWED_TARGET_ENVIRONMENT, INVALID_CALLBACK_URL_HOST, INVALID_CURRENCY, \
         a test number's error) or INTERNAL_PROCESSING_ERROR.",
    ));
    refusals.push(("503", "SERVICE_UNAVAILABLE: try again later."));
    if oauth {
        refusals.push(("400", "An OAuth2 error in the token endpoint's shape (`unsupported_grant_type`, …)."));
    }
    if credentials.basic() {
        refusals.push((
            "500",
            "The token endpoint's `{\"error\":\"login_failed\"}`: the Basic credentials were refused (401 with \
             --token-error spec).",
        ));
    }
    for (status, descriptions) in by_status(&refusals) {
        let mut shapes = vec![ErrorShape::Momo];
        match status {
            "400" if oauth => shapes.push(ErrorShape::Token),
            "404" if path_parameters(op.route).next().is_some() => shapes.push(ErrorShape::Gateway),
            // `{"error":"login_failed"}`: MTN's sandbox answers 500 (401 with --token-error spec).
            "500" if credentials.basic() => shapes.push(ErrorShape::Token),
            _ => {}
        }
        responses.insert(status.into(), error_answer(schemas, &descriptions, &shapes));
    }
    if let Some(RequestBody(body)) = body {
        operation["requestBody"] = body;
    }
    if let Some(callback) = callback(schemas, op) {
        operation["callbacks"] = callback;
    }
    operation["responses"] = Value::Object(responses);
    operation
}

/// Refusals grouped by status, their descriptions joined.
fn by_status(refusals: &[(&'static str, &'static str)]) -> std::collections::BTreeMap<&'static str, String> {
    let mut grouped = std::collections::BTreeMap::<&str, String>::new();
    for (status, description) in refusals {
        let text = grouped.entry(status).or_default();
        if !text.is_empty() {
            text.push_str(" Or: ");
        }
        text.push_str(description);
    }
    grouped
}

/// What an operation reads and answers, besides its headers and credentials.
struct Description {
    body: Option<RequestBody>,
    status: &'static str,
    success: Value,
    /// The refusals particular to it, `(status, description)`, all in MoMo's shape.
    refusals: Vec<(&'static str, &'static str)>,
}

impl Description {
    fn new(status: &'static str, success: Value) -> Description {
        Description { body: None, status, success, refusals: Vec::new() }
    }

    fn reading(self, body: RequestBody) -> Description {
        Description { body: Some(body), ..self }
    }

    fn refusing(mut self, status: &'static str, description: &'static str) -> Description {
        self.refusals.push((status, description));
        self
    }

    /// A create: 202 once accepted, 409 for a reference id taken.
    fn create(body: RequestBody) -> Description {
        let accepted = "Accepted; no body. The outcome comes through the status operation and the callback.";
        Description::new("202", answer(accepted, None)).reading(body).refusing("409", ALREADY_EXISTS)
    }

    /// A read of something by its id: 404 if the caller has nothing with it.
    fn read(description: &str, body: Value) -> Description {
        Description::new("200", answer(description, Some(body))).refusing("404", NOT_FOUND)
    }
}

const ALREADY_EXISTS: &str = "RESOURCE_ALREADY_EXIST: the X-Reference-Id is taken.";
const NOT_FOUND: &str = "RESOURCE_NOT_FOUND: the caller has nothing with this id.";

/// What each MoMo operation reads and answers (examples of bodies included).
fn describe(schemas: &mut Schemas, name: OperationName) -> Description {
    use OperationName as N;
    let party = r#"{"partyIdType":"MSISDN","partyId":"46733123499"}"#;
    match name {
        N::CreateApiUser => Description::new("201", answer("Created; no body.", None))
            .reading(body::<CreateApiUser>(schemas, JSON, true, r#"{"providerCallbackHost":"webhook.site"}"#))
            .refusing("409", ALREADY_EXISTS),
        N::GetApiUser => Description::read("The API user.", schemas.of::<ApiUserInfo>()),
        N::CreateApiKey => Description::new(
            "201",
            answer("A new key; the previous one and its tokens stop working.", Some(schemas.of::<ApiKeyCreated>())),
        )
        .refusing("404", NOT_FOUND),
        N::CreateAccessToken => Description::new("200", answer("An access token.", Some(schemas.of::<AccessToken>()))),
        N::GetAccountBalance | N::GetAccountBalanceInSpecificCurrency => {
            Description::new("200", answer("The API user's balance for the product.", Some(schemas.of::<Balance>())))
        }
        N::ValidateAccountHolderStatus => Description::new(
            "200",
            answer("Whether the account holder is active.", Some(schemas.of::<BooleanResult>())),
        ),
        N::GetBasicUserinfo => Description::new(
            "200",
            answer("The account holder's basic data.", Some(schemas.of::<BasicUserInfo>())),
        ),
        N::RequestToPay | N::RequestToWithdrawV1 | N::RequestToWithdrawV2 => {
            let example = format!(
                r#"{{"amount":"100","currency":"EUR","externalId":"6353636","payer":{party},"payerMessage":"Order 6353636","payeeNote":"Thank you"}}"#
            );
            Description::create(body::<RequestToPay>(schemas, JSON, true, &example))
        }
        N::Transfer | N::DepositV1 | N::DepositV2 => {
            let example = format!(
                r#"{{"amount":"100","currency":"EUR","externalId":"6353636","payee":{party},"payerMessage":"Payout 6353636","payeeNote":"Thank you"}}"#
            );
            Description::create(body::<Transfer>(schemas, JSON, true, &example))
        }
        N::RefundV1 | N::RefundV2 => Description::create(body::<Refund>(
            schemas,
            JSON,
            true,
            r#"{"amount":"100","currency":"EUR","externalId":"6353636","payerMessage":"Refund","payeeNote":"Refund","referenceIdToRefund":"c72025f5-5cd1-4630-99e4-8ba4722fad56"}"#,
        ))
        .refusing("404", "RESOURCE_NOT_FOUND: referenceIdToRefund names no request to pay of the caller's."),
        N::CreateInvoice => {
            let example = format!(
                r#"{{"externalId":"47","amount":"100","currency":"EUR","validityDuration":"3600","intendedPayer":{party},"payee":{{"partyIdType":"MSISDN","partyId":"46733123498"}},"description":"Invoice 47"}}"#
            );
            Description::create(body::<CreateInvoice>(schemas, JSON, true, &example))
        }
        N::PreApproval => {
            let example = format!(
                r#"{{"payer":{party},"payerCurrency":"EUR","payerMessage":"Monthly subscription","validityTime":3600}}"#
            );
            Description::create(body::<PreApproval>(schemas, JSON, true, &example))
        }
        N::CreatePayments => Description::create(body::<CreatePayments>(
            schemas,
            JSON,
            true,
            r#"{"externalTransactionId":"23","money":{"amount":"100","currency":"EUR"},"customerReference":"customer-23","serviceProviderUserName":"utility"}"#,
        )),
        N::CashTransfer => {
            let example = format!(
                r#"{{"amount":"100","currency":"EUR","payee":{party},"externalId":"83453","orginatingCountry":"SE","originalAmount":"100","originalCurrency":"EUR","payerMessage":"Hello","payeeNote":"Hello","payerFirstName":"Ada","payerSurName":"Lovelace"}}"#
            );
            Description::create(body::<CashTransfer>(schemas, JSON, true, &example))
        }
        N::CancelInvoice => Description::create(body::<CancelInvoice>(schemas, JSON, false, r#"{"externalId":"47"}"#))
            .refusing("404", NOT_FOUND)
            .refusing("409", "NOT_ALLOWED: the invoice is final."),
        N::RequestToPayStatus
        | N::RequestToWithdrawStatus
        | N::GetInvoiceStatus
        | N::GetPreApprovalStatus
        | N::GetPaymentStatus
        | N::GetTransferStatus
        | N::GetDepositStatus
        | N::GetRefundStatus
        | N::GetCashTransferStatus => {
            let body = name.kind().map_or_else(|| json!({}), |kind| status_body(schemas, kind));
            Description::read("The transaction's status (a failed one too).", body)
        }
        // The message may come in the `notificationMessage` header instead of the body.
        N::RequestToPayDeliveryNotification => {
            Description::new("200", answer("The notification is on its way; no body.", None))
                .reading(body::<DeliveryNotification>(
                    schemas,
                    JSON,
                    false,
                    r#"{"notificationMessage":"Your order is on its way"}"#,
                ))
                .refusing("404", NOT_FOUND)
                .refusing("409", "TRANSACTION_NOT_COMPLETED: the request to pay is not successful.")
                .refusing("410", "EXPIRED: the request to pay became final more than 24 hours ago.")
                .refusing("429", "NOT_ALLOWED: this request to pay had its three notifications.")
        }
        N::CancelPreApproval => Description::new("200", answer("Cancelled; no body.", None))
            .refusing("404", NOT_FOUND)
            .refusing("409", "NOT_ALLOWED: the pre-approval is not active."),
        N::GetApprovedPreApprovals => Description::new(
            "200",
            answer(
                "The payer's approved, unexpired pre-approvals (an empty list if none).",
                Some(json!({ "type": "array", "items": schemas.of::<PreApprovalDetails>() })),
            ),
        ),
        N::BcAuthorize => {
            Description::new("200", answer("The consent request.", Some(schemas.of::<BcAuthorizeResponse>()))).reading(
                body::<BcAuthorizeRequest>(
                    schemas,
                    FORM,
                    true,
                    r#"{"login_hint":"ID:46733123499/MSISDN","scope":"profile","access_type":"online"}"#,
                ),
            )
        }
        N::CreateOauth2Token => {
            Description::new("200", answer("A consent token.", Some(schemas.of::<ConsentToken>()))).reading(
                body::<Oauth2TokenRequest>(
                    schemas,
                    FORM,
                    true,
                    r#"{"grant_type":"urn:openid:params:grant-type:ciba","auth_req_id":"c72025f5-5cd1-4630-99e4-8ba4722fad56"}"#,
                ),
            )
        }
        N::GetUserInfoWithConsent => Description::new(
            "200",
            answer("The consenting account holder's data.", Some(schemas.of::<UserInfo>())),
        ),
    }
}

/// The headers an operation reads.
fn header_parameters(op: &Operation, credentials: Credentials) -> Vec<Value> {
    let reference = |name: &str| json!({ "$ref": format!("#/components/parameters/{name}") });
    let mut parameters = Vec::new();
    // What a create or a cancellation makes is named by the client.
    if op.status.is_some() || op.callback.is_some() {
        parameters.push(reference("X-Reference-Id"));
    }
    if op.callback.is_some() {
        parameters.push(reference("X-Callback-Url"));
    }
    match (op.name, credentials) {
        (_, Credentials::None) => {}
        (OperationName::CreateAccessToken, _) => parameters.push(json!({
            "name": "X-Target-Environment", "in": "header", "required": false,
            "description": "Ignored on MTN's legacy platform (--platform legacy); required on momoapi.momo.africa \
                            (--platform momo-africa), where a missing or wrong one is a 400.",
            "schema": environment_schema(),
        })),
        _ => parameters.push(reference("X-Target-Environment")),
    }
    if op.name == OperationName::RequestToPayDeliveryNotification {
        parameters.push(json!({
            "name": "notificationMessage", "in": "header", "required": false,
            "description": "The message to the payer (at most 160 characters); or in the body.",
            "schema": { "type": "string", "maxLength": 160 },
        }));
    }
    parameters
}

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// An OpenAPI Request Body object (made only by [`body`]).
struct RequestBody(Value);

/// A request body of type `T` in `media_type`, with `example` as its example once read as a `T`
/// and written back: exactly what the type accepts and writes. An example the type does not
/// accept is left out (a unit test checks that no body lacks one).
fn body<T: JsonSchema + DeserializeOwned + Serialize>(
    schemas: &mut Schemas,
    media_type: &str,
    required: bool,
    example: &str,
) -> RequestBody {
    let mut content = json!({ "schema": schemas.of::<T>() });
    let example = serde_json::from_str::<T>(example).ok().and_then(|body| serde_json::to_value(body).ok());
    if let Some(example) = example {
        content["example"] = example;
    }
    RequestBody(json!({ "required": required, "content": { media_type: content } }))
}

/// The status body of a kind of transaction, which is also its callback body.
fn status_body(schemas: &mut Schemas, kind: TransactionKind) -> Value {
    use TransactionKind as K;
    match kind {
        K::RequestToPay | K::RequestToWithdraw => schemas.of::<RequestToPayResult>(),
        K::Transfer => schemas.of::<TransferResult>(),
        K::Deposit | K::Refund => schemas.of::<DepositResult>(),
        // A cancellation reports the cancelled invoice.
        K::Invoice | K::InvoiceCancellation => schemas.of::<InvoiceResult>(),
        K::PreApproval => schemas.of::<PreApprovalResult>(),
        K::Payment => schemas.of::<PaymentResult>(),
        K::CashTransfer => schemas.of::<CashTransferResult>(),
    }
}

/// A create's answer links to the operation that reads back what it made, with its id.
fn with_status_link(mut answer: Value, op: &Operation, operations: &[Operation]) -> Value {
    let status = operations.iter().find(|s| Some(s.name) == op.status && s.product == op.product);
    if let Some(status) = status {
        answer["links"] = json!({
            "status": {
                "operationId": operation_id(status),
                "parameters": { "referenceId": "$request.header.X-Reference-Id" },
                "description": "Read it back with the X-Reference-Id it was created with.",
            }
        });
    }
    answer
}

/// The `callbacks` object of an operation that calls back: the final status, sent with the
/// table's method to the `X-Callback-Url` of the request.
fn callback(schemas: &mut Schemas, op: &Operation) -> Option<Value> {
    let method = op.callback?;
    let body = status_body(schemas, op.kind()?);
    let header = |name: &str, description: &str| {
        json!({ "name": name, "in": "header", "required": true, "description": description,
                "schema": { "type": "string" } })
    };
    let request = json!({
        "summary": "The final status",
        "description": "Sent once the transaction is final (SUCCESSFUL or FAILED): its status body, signed with the \
                        API user's callback secret (docs/callbacks.md). Retried until a 2xx answer, per \
                        --callback-retry.",
        "parameters": [
            header("X-Momo-Signature", "`t=<unix seconds>,v1=<hex HMAC-SHA256>` over `<t>.<body>`."),
            header("X-Momo-Reference-Id", "The X-Reference-Id of the request that called back."),
            header("X-Momo-Delivery-Id", "The same on every retry of one callback."),
        ],
        "requestBody": { "required": true, "content": { "application/json": { "schema": body } } },
        "responses": { "2XX": { "description": "Received; anything else is retried." } },
    });
    let expression = format!("{{$request.header.{}}}", "X-Callback-Url");
    Some(json!({ "status": { expression: { method.as_str().to_ascii_lowercase(): request } } }))
}

/// One call of the operator API.
fn operator_operation(schemas: &mut Schemas, op: AdminOperation) -> Value {
    use crate::admin::{
        Account, CallbackSecret, CreateSubscriptionKey, CreateUser, Delivery, DeliveryDetail, Fault, FaultSpec,
        ForceOutcome, SetBalance, SubscriptionKey, SubscriptionKeyCreated, Transaction, TransactionDetail, User,
        UserCredentials,
    };
    use AdminOperation as A;
    let list = |schema: Value| json!({ "type": "array", "items": schema });
    // The body it reads, the query fields of `ListQuery` it takes, and its answer.
    let (body, query, (status, success)): (Option<RequestBody>, &[&str], (&str, Value)) = match op {
        A::ListUsers => (None, &[], ("200", answer("Every API user; never a key.", Some(list(schemas.of::<User>()))))),
        A::CreateUser => (
            Some(body::<CreateUser>(
                schemas,
                JSON,
                true,
                r#"{"environment":"mtnuganda","providerCallbackHost":"shop.example.com","paymentServerUrl":"https://shop.example.com/momo"}"#,
            )),
            &[],
            ("201", answer("The user and its key, shown this once.", Some(schemas.of::<UserCredentials>()))),
        ),
        A::GetUser => (None, &[], ("200", answer("The user.", Some(schemas.of::<User>())))),
        A::RevokeUser => (None, &[], ("200", answer("The user, revoked.", Some(schemas.of::<User>())))),
        A::RegenerateUserKey => (
            None,
            &[],
            (
                "201",
                answer("A new key; the old one and its tokens stop working.", Some(schemas.of::<UserCredentials>())),
            ),
        ),
        A::GetCallbackSecret => {
            (None, &[], ("200", answer("The secret callbacks are signed with.", Some(schemas.of::<CallbackSecret>()))))
        }
        A::SetUserBalance | A::SetWalletBalance => (
            Some(body::<SetBalance>(schemas, JSON, true, r#"{"amount":"2500"}"#)),
            &[],
            ("200", answer("The account.", Some(schemas.of::<Account>()))),
        ),
        A::ListSubscriptionKeys => {
            (None, &[], ("200", answer("Every key; never its value.", Some(list(schemas.of::<SubscriptionKey>())))))
        }
        A::CreateSubscriptionKey => (
            Some(body::<CreateSubscriptionKey>(schemas, JSON, true, r#"{"products":["remittance"]}"#)),
            &[],
            ("201", answer("The key, with its value shown this once.", Some(schemas.of::<SubscriptionKeyCreated>()))),
        ),
        A::RevokeSubscriptionKey => {
            (None, &[], ("200", answer("The key, revoked.", Some(schemas.of::<SubscriptionKey>()))))
        }
        A::RegenerateSubscriptionKey => (
            None,
            &[],
            ("201", answer("The key with a new value, shown this once.", Some(schemas.of::<SubscriptionKeyCreated>()))),
        ),
        A::ListTransactions => (
            None,
            &["apiUser", "limit"],
            ("200", answer("Transactions, newest first.", Some(list(schemas.of::<Transaction>())))),
        ),
        A::GetTransaction => (
            None,
            &[],
            (
                "200",
                answer("The transaction, its status body and its callbacks.", Some(schemas.of::<TransactionDetail>())),
            ),
        ),
        A::ApproveTransaction | A::RejectTransaction => {
            (None, &[], ("200", answer("The transaction, decided for the payer.", Some(schemas.of::<Transaction>()))))
        }
        A::ForceOutcome => (
            Some(body::<ForceOutcome>(schemas, JSON, true, r#"{"status":"FAILED","reason":"NOT_ENOUGH_FUNDS"}"#)),
            &[],
            ("200", answer("The transaction, final now.", Some(schemas.of::<Transaction>()))),
        ),
        A::ListDeliveries => (
            None,
            &["referenceId", "limit"],
            ("200", answer("Callback deliveries, newest first.", Some(list(schemas.of::<Delivery>())))),
        ),
        A::GetDelivery => (
            None,
            &[],
            ("200", answer("The delivery, its body and its attempts.", Some(schemas.of::<DeliveryDetail>()))),
        ),
        A::Redeliver => (None, &[], ("200", answer("The delivery, pending again.", Some(schemas.of::<Delivery>())))),
        A::ListAccounts => (None, &[], ("200", answer("Every ledger account.", Some(list(schemas.of::<Account>()))))),
        A::ListFaults => {
            (None, &[], ("200", answer("The fault rules, oldest first.", Some(list(schemas.of::<Fault>())))))
        }
        A::AddFault => (
            Some(body::<FaultSpec>(
                schemas,
                JSON,
                true,
                r#"{"method":"POST","path":"/collection/v1_0/requesttopay","status":503,"count":1}"#,
            )),
            &[],
            ("201", answer("The rule, with its id.", Some(schemas.of::<Fault>()))),
        ),
        A::ClearFaults => (None, &[], ("204", answer("Every rule is gone.", None))),
        A::RemoveFault => (None, &[], ("204", answer("The rule is gone.", None))),
        A::Reset => (None, &[], ("204", answer("Every transaction, account, delivery and rule is gone.", None))),
        A::OpenApiDocument => (
            None,
            &[],
            (
                "200",
                answer("This document.", Some(json!({ "type": "object", "description": "An OpenAPI 3.1 document." }))),
            ),
        ),
    };
    let mut parameters: Vec<Value> =
        path_parameters(op.route()).map(|name| operator_path_parameter(schemas, name)).collect();
    parameters.extend(list_query_parameters(query));
    let mut responses = Map::new();
    responses.insert(status.into(), success);
    let mut operation = json!({
        "operationId": operator_operation_id(op),
        "tags": [op.route().split('/').nth(1).unwrap_or("admin")],
        "parameters": parameters,
    });
    if op == A::OpenApiDocument {
        operation["security"] = json!([]);
    } else {
        let error_reason = schemas.of::<ErrorReason>();
        let momo = |description: &str| answer(description, Some(error_reason.clone()));
        responses.insert("400".into(), momo("VALIDATION_ERROR: a path parameter, the query or the body is malformed."));
        responses.insert("401".into(), momo("UNAUTHORIZED: no valid operator token."));
        responses.insert(
            "404".into(),
            error_answer(
                schemas,
                "RESOURCE_NOT_FOUND, or the gateway's `Resource not found` for a path no call has.",
                &[ErrorShape::Momo, ErrorShape::Gateway],
            ),
        );
        responses.insert(
            "409".into(),
            momo("RESOURCE_ALREADY_EXIST or NOT_ALLOWED: the call does not apply to the resource's state."),
        );
        let mut throttled = momo("TOO_MANY_REQUESTS: too many wrong operator tokens from this address.");
        throttled["headers"]["Retry-After"] =
            json!({ "description": "Seconds to wait.", "schema": { "type": "integer", "minimum": 1 } });
        responses.insert("429".into(), throttled);
        responses.insert("500".into(), momo("INTERNAL_PROCESSING_ERROR."));
        responses.insert("503".into(), momo("SERVICE_UNAVAILABLE: the database is out of reach; try again."));
        if body.is_some() {
            responses.insert("413".into(), momo("PAYLOAD_TOO_LARGE: the body is over the server's limit."));
            responses.insert("415".into(), momo("VALIDATION_ERROR: the body is sent with another content type."));
        }
    }
    if let Some(RequestBody(body)) = body {
        operation["requestBody"] = body;
    }
    operation["responses"] = Value::Object(responses);
    operation
}

/// A camelCase operationId from the call's name (`ListUsers` → `listUsers`).
fn operator_operation_id(op: AdminOperation) -> String {
    let name = format!("{op:?}");
    let mut chars = name.chars();
    chars.next().map(|first| first.to_ascii_lowercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// A path parameter of the operator API.
fn operator_path_parameter(schemas: &mut Schemas, name: &str) -> Value {
    let (schema, description) = match name {
        "product" => (schemas.of::<Product>(), "A product (any case)."),
        "environment" => (environment_schema(), "An X-Target-Environment value."),
        "partyIdType" => (
            json!({ "type": "string", "enum": ["MSISDN", "EMAIL", "PARTY_CODE"] }),
            "How the wallet's owner is identified (any case).",
        ),
        "apiUser" => {
            (json!({ "type": "string" }), "An API user's id, percent-encoded (new-style ids hold `/`, `+`, `=`).")
        }
        _ => (json!({ "type": "string" }), ""),
    };
    json!({ "name": name, "in": "path", "required": true, "schema": schema, "description": description })
}

/// Query parameters from [`admin::ListQuery`]'s fields, so that they keep its names, types and
/// descriptions.
fn list_query_parameters(fields: &[&str]) -> Vec<Value> {
    let query = SchemaSettings::draft2020_12()
        .with(|settings| {
            settings.inline_subschemas = true;
            settings.meta_schema = None;
        })
        .into_generator()
        .into_root_schema_for::<admin::ListQuery>()
        .to_value();
    fields
        .iter()
        .map(|field| {
            let mut schema = query["properties"][field].clone();
            let description = schema.as_object_mut().and_then(|s| s.remove("description")).unwrap_or(json!(""));
            json!({ "name": field, "in": "query", "required": false, "description": description, "schema": schema })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_in_the_document_at_its_full_route_with_its_method() {
        let document = momo_api();
        let mut count = 0;
        for (route, item) in document["paths"].as_object().unwrap() {
            count += item.as_object().unwrap().len();
            for (method, operation) in item.as_object().unwrap() {
                let op = OPERATIONS
                    .iter()
                    .find(|op| op.full_route() == *route && op.method.eq_ignore_ascii_case(method))
                    .unwrap_or_else(|| panic!("{method} {route} is not in the table"));
                assert_eq!(operation["operationId"], operation_id(op));
            }
        }
        assert_eq!(count, OPERATIONS.len());
    }

    #[test]
    fn each_callback_has_the_tables_method_and_the_status_body_of_its_kind() {
        let document = momo_api();
        let put = &document["paths"]["/disbursement/v2_0/deposit"]["post"]["callbacks"]["status"]
            ["{$request.header.X-Callback-Url}"];
        assert_eq!(
            put["put"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/DepositResult"
        );
        assert!(put.get("post").is_none());
        let post = &document["paths"]["/disbursement/v1_0/deposit"]["post"]["callbacks"]["status"]
            ["{$request.header.X-Callback-Url}"];
        assert!(post.get("post").is_some() && post.get("put").is_none());
        let cancel = &document["paths"]["/collection/v2_0/invoice/{referenceId}"]["delete"]["callbacks"]["status"]
            ["{$request.header.X-Callback-Url}"]["put"];
        assert_eq!(
            cancel["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/InvoiceResult"
        );
        for op in OPERATIONS {
            let operation = &document["paths"][op.full_route()][op.method.to_ascii_lowercase()];
            assert_eq!(operation.get("callbacks").is_some(), op.callback.is_some(), "{:?}", op.name);
        }
    }

    #[test]
    fn amounts_are_strings_and_error_codes_are_listed() {
        let document = momo_api();
        let schemas = &document["components"]["schemas"];
        for schema in ["RequestToPay", "Transfer", "Balance"] {
            let amount = &schemas[schema]["properties"]
                .as_object()
                .unwrap()
                .iter()
                .find(|(name, _)| name.contains("mount") || name.contains("Balance"))
                .unwrap()
                .1;
            // A typed amount is a reference to the `Amount` schema.
            let amount = match amount["$ref"].as_str() {
                Some(reference) => &schemas[reference.trim_start_matches("#/components/schemas/")],
                None => amount,
            };
            assert_eq!(amount["type"], "string", "{schema}");
        }
        let codes = schemas["ErrorCode"]["enum"].as_array().unwrap();
        assert!(codes.contains(&json!("RESOURCE_ALREADY_EXIST")) && codes.contains(&json!("VALIDATION_ERROR")));
        assert_eq!(schemas["PreApprovalResult"]["properties"]["expirationDateTime"]["type"], "string");
    }

    #[test]
    fn every_request_body_has_an_example_its_type_reads() {
        for document in [momo_api(), operator_api()] {
            for (route, item) in document["paths"].as_object().unwrap() {
                for (method, operation) in item.as_object().unwrap() {
                    let Some(content) = operation["requestBody"]["content"].as_object() else { continue };
                    for (media_type, body) in content {
                        assert!(body["example"].is_object(), "{method} {route} {media_type} has no example");
                    }
                }
            }
        }
    }

    #[test]
    fn an_operation_not_implemented_is_marked_and_answers_501() {
        let mut table = OPERATIONS.to_vec();
        table[0].implemented = false;
        let document = momo_document(&table);
        let operation = &document["paths"][table[0].full_route()][table[0].method.to_ascii_lowercase()];
        assert_eq!(operation["x-openmomo-implemented"], false);
        assert!(operation["responses"].get("501").is_some());
        assert!(operation["responses"].get("201").is_none());
        let implemented = &document["paths"][table[1].full_route()][table[1].method.to_ascii_lowercase()];
        assert!(implemented.get("x-openmomo-implemented").is_none() && implemented["responses"].get("501").is_none());
    }

    #[test]
    fn every_operator_call_is_in_its_document_and_only_the_document_itself_needs_no_token() {
        let document = operator_api();
        for op in AdminOperation::ALL {
            let operation = &document["paths"][op.full_route()][op.method().to_ascii_lowercase()];
            assert!(operation.is_object(), "{op:?}");
            assert_eq!(operation.get("security") == Some(&json!([])), op == AdminOperation::OpenApiDocument, "{op:?}");
        }
        let listing = &document["paths"]["/_momo/admin/transactions"]["get"]["parameters"];
        assert_eq!(listing[0]["name"], "apiUser");
        assert_eq!(listing[1]["schema"]["type"], json!(["integer", "null"]));
    }
}
