//! `deploy/aws/tables.yaml` declares the tables the store uses: the same names, keys, attribute
//! types, indexes, projections and TTL as `tables::SPECS`, and every one billed on demand,
//! protected, recoverable and encrypted.

use serde_norway::Value;
use store_dynamodb::tables::SPECS;

fn template() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/aws/tables.yaml");
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn strings(value: &Value) -> Vec<String> {
    value.as_sequence().map(|s| s.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

fn key(schema: &Value) -> Vec<String> {
    schema.as_sequence().unwrap().iter().map(|k| k["AttributeName"].as_str().unwrap().to_owned()).collect()
}

fn projection(index: &Value) -> Option<Vec<String>> {
    match index["Projection"]["ProjectionType"].as_str().unwrap() {
        "ALL" => None,
        "KEYS_ONLY" => Some(Vec::new()),
        _ => Some(strings(&index["Projection"]["NonKeyAttributes"])),
    }
}

#[test]
fn the_cloudformation_tables_are_the_ones_the_store_uses() {
    let template = template();
    let resources = template["Resources"].as_mapping().unwrap();
    let tables: Vec<&Value> =
        resources.values().filter(|r| r["Type"].as_str() == Some("AWS::DynamoDB::Table")).collect();
    assert_eq!(tables.len(), SPECS.len(), "one table per spec");
    for spec in SPECS {
        let name = format!("${{TablePrefix}}{}", spec.name);
        let table = tables
            .iter()
            .find(|t| t["Properties"]["TableName"]["Fn::Sub"].as_str() == Some(name.as_str()))
            .unwrap_or_else(|| panic!("{} is not in the template", spec.name));
        let p = &table["Properties"];
        assert_eq!(key(&p["KeySchema"]), spec.key, "{}: key", spec.name);
        let mut attributes: Vec<(String, String)> = p["AttributeDefinitions"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| (a["AttributeName"].as_str().unwrap().into(), a["AttributeType"].as_str().unwrap().into()))
            .collect();
        attributes.sort();
        let mut expected: Vec<(String, String)> =
            spec.attributes.iter().map(|(a, t)| ((*a).to_owned(), (*t).to_owned())).collect();
        expected.sort();
        assert_eq!(attributes, expected, "{}: attributes", spec.name);
        let lsis: Vec<(String, String)> = p["LocalSecondaryIndexes"]
            .as_sequence()
            .map(|s| {
                s.iter().map(|i| (i["IndexName"].as_str().unwrap().into(), key(&i["KeySchema"])[1].clone())).collect()
            })
            .unwrap_or_default();
        let expected: Vec<(String, String)> = spec.local.iter().map(|(n, k)| ((*n).into(), (*k).into())).collect();
        assert_eq!(lsis, expected, "{}: local indexes", spec.name);
        let gsis: Vec<(String, Vec<String>, Option<Vec<String>>)> = p["GlobalSecondaryIndexes"]
            .as_sequence()
            .map(|s| {
                s.iter()
                    .map(|i| (i["IndexName"].as_str().unwrap().into(), key(&i["KeySchema"]), projection(i)))
                    .collect()
            })
            .unwrap_or_default();
        let expected: Vec<(String, Vec<String>, Option<Vec<String>>)> = spec
            .global
            .iter()
            .map(|(n, k, proj)| {
                (
                    (*n).into(),
                    k.iter().map(|s| (*s).to_owned()).collect(),
                    proj.map(|p| p.iter().map(|s| (*s).to_owned()).collect()),
                )
            })
            .collect();
        assert_eq!(gsis, expected, "{}: global indexes", spec.name);
        let ttl = p["TimeToLiveSpecification"]["AttributeName"].as_str();
        assert_eq!(ttl, spec.ttl.then_some(store_dynamodb::tables::TTL), "{}: TTL", spec.name);
        assert_eq!(p["BillingMode"].as_str(), Some("PAY_PER_REQUEST"), "{}", spec.name);
        assert_eq!(p["DeletionProtectionEnabled"].as_bool(), Some(true), "{}", spec.name);
        assert_eq!(p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(), Some(true));
        assert_eq!(p["SSESpecification"]["SSEEnabled"].as_bool(), Some(true));
        assert_eq!(table["DeletionPolicy"].as_str(), Some("Retain"), "{}", spec.name);
    }
}

#[test]
fn the_relay_policy_grants_item_access_to_its_tables_only() {
    let template = template();
    let statements = template["Resources"]["RelayPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .clone();
    let mut actions: Vec<String> = statements.iter().flat_map(|s| strings(&s["Action"])).collect();
    actions.sort();
    assert!(actions.iter().all(|a| a.starts_with("dynamodb:")), "{actions:?}");
    for forbidden in ["dynamodb:*", "dynamodb:CreateTable", "dynamodb:DeleteTable", "dynamodb:UpdateTable"] {
        assert!(!actions.iter().any(|a| a == forbidden), "{forbidden} granted");
    }
    for statement in &statements {
        let resources = statement["Resource"].as_sequence().unwrap();
        assert!(!resources.iter().any(|r| r.as_str() == Some("*")), "no wildcard resource");
    }
    let scan = statements.iter().find(|s| strings(&s["Action"]).contains(&"dynamodb:Scan".to_owned())).unwrap();
    assert_eq!(scan["Resource"].as_sequence().unwrap().len(), 1, "a scan of presence only");
}
