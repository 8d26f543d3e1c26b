/**
 * Message descriptors for the Kubernetes protobuf wire format — the subset a client-go typed
 * client (kubectl's imperative `create` commands, controllers writing Events and Leases) sends.
 *
 * Field numbers and types follow the public `generated.proto` files of k8s.io/api and
 * k8s.io/apimachinery (core/v1, apps/v1, autoscaling/v1, batch/v1, networking/v1, coordination/v1,
 * policy/v1, scheduling/v1, certificates/v1, meta/v1, runtime, api/resource, util/intstr). Each
 * message is written in a compact notation and compiled into a protobufjs JSON descriptor by
 * `buildDescriptor()`:
 *
 *     'name=1:string'                    optional scalar; omitted from JSON when zero (Go `omitempty`)
 *     'replicas=1:int32?'                a Go pointer: kept when present on the wire, even when zero
 *     'ports=6:[ContainerPort]'          repeated
 *     'labels=11:{string}'               map<string, string>  ({bytes}, {resource.Quantity} likewise)
 *     'localObjectReference=1:LocalObjectReference^'   embedded with `json:",inline"`: its fields
 *                                                      are merged into the parent JSON object
 *     'Raw=1:bytes>raw'                  a JSON name that differs from the proto name
 *
 * A type without a package prefix is looked up in the message's own package; `meta.`, `core.`,
 * `resource.`, `intstr.`, ... name the other packages (see PACKAGES).
 */

export const PACKAGES = {
  runtime: 'k8s.io.apimachinery.pkg.runtime',
  meta: 'k8s.io.apimachinery.pkg.apis.meta.v1',
  resource: 'k8s.io.apimachinery.pkg.api.resource',
  intstr: 'k8s.io.apimachinery.pkg.util.intstr',
  core: 'k8s.io.api.core.v1',
  apps: 'k8s.io.api.apps.v1',
  autoscaling: 'k8s.io.api.autoscaling.v1',
  batch: 'k8s.io.api.batch.v1',
  networking: 'k8s.io.api.networking.v1',
  coordination: 'k8s.io.api.coordination.v1',
  rbac: 'k8s.io.api.rbac.v1',
  authentication: 'k8s.io.api.authentication.v1',
  authorization: 'k8s.io.api.authorization.v1',
  policy: 'k8s.io.api.policy.v1',
  scheduling: 'k8s.io.api.scheduling.v1',
  certificates: 'k8s.io.api.certificates.v1',
} as const;

export type PackageAlias = keyof typeof PACKAGES;

const META = 'metadata=1:meta.ObjectMeta';

/** Messages by package alias, then by message name. */
export const MESSAGES: Record<PackageAlias, Record<string, readonly string[]>> = {
  runtime: {
    TypeMeta: ['apiVersion=1:string', 'kind=2:string'],
    Unknown: ['typeMeta=1:TypeMeta', 'raw=2:bytes', 'contentEncoding=3:string', 'contentType=4:string'],
    RawExtension: ['raw=1:bytes'],
  },
  resource: {
    Quantity: ['string=1:string'],
  },
  intstr: {
    IntOrString: ['type=1:int64', 'intVal=2:int32', 'strVal=3:string'],
  },
  meta: {
    Time: ['seconds=1:int64', 'nanos=2:int32'],
    MicroTime: ['seconds=1:int64', 'nanos=2:int32'],
    FieldsV1: ['Raw=1:bytes>raw'],
    ObjectMeta: [
      'name=1:string',
      'generateName=2:string',
      'namespace=3:string',
      'selfLink=4:string',
      'uid=5:string',
      'resourceVersion=6:string',
      'generation=7:int64',
      'creationTimestamp=8:Time',
      'deletionTimestamp=9:Time',
      'deletionGracePeriodSeconds=10:int64?',
      'labels=11:{string}',
      'annotations=12:{string}',
      'ownerReferences=13:[OwnerReference]',
      'finalizers=14:[string]',
      'managedFields=17:[ManagedFieldsEntry]',
    ],
    OwnerReference: [
      'kind=1:string',
      'name=3:string',
      'uid=4:string',
      'apiVersion=5:string',
      'controller=6:bool?',
      'blockOwnerDeletion=7:bool?',
    ],
    ManagedFieldsEntry: [
      'manager=1:string',
      'operation=2:string',
      'apiVersion=3:string',
      'time=4:Time',
      'fieldsType=6:string',
      'fieldsV1=7:FieldsV1',
      'subresource=8:string',
    ],
    LabelSelector: ['matchLabels=1:{string}', 'matchExpressions=2:[LabelSelectorRequirement]'],
    LabelSelectorRequirement: ['key=1:string', 'operator=2:string', 'values=3:[string]'],
    Condition: [
      'type=1:string',
      'status=2:string',
      'observedGeneration=3:int64',
      'lastTransitionTime=4:Time',
      'reason=5:string',
      'message=6:string',
    ],
    Preconditions: ['uid=1:string?', 'resourceVersion=2:string?'],
    DeleteOptions: [
      'gracePeriodSeconds=1:int64?',
      'preconditions=2:Preconditions',
      'orphanDependents=3:bool?',
      'propagationPolicy=4:string?',
      'dryRun=5:[string]',
      'ignoreStoreReadErrorWithClusterBreakingPotential=6:bool?',
    ],
  },
  core: {
    ConfigMap: [META, 'data=2:{string}', 'binaryData=3:{bytes}', 'immutable=4:bool?'],
    Secret: [META, 'data=2:{bytes}', 'type=3:string', 'stringData=4:{string}', 'immutable=5:bool?'],
    Namespace: [META, 'spec=2:NamespaceSpec', 'status=3:NamespaceStatus'],
    NamespaceSpec: ['finalizers=1:[string]'],
    NamespaceStatus: ['phase=1:string', 'conditions=2:[NamespaceCondition]'],
    NamespaceCondition: [
      'type=1:string',
      'status=2:string',
      'lastTransitionTime=4:meta.Time',
      'reason=5:string',
      'message=6:string',
    ],
    ServiceAccount: [
      META,
      'secrets=2:[ObjectReference]',
      'imagePullSecrets=3:[LocalObjectReference]',
      'automountServiceAccountToken=4:bool?',
    ],
    ObjectReference: [
      'kind=1:string',
      'namespace=2:string',
      'name=3:string',
      'uid=4:string',
      'apiVersion=5:string',
      'resourceVersion=6:string',
      'fieldPath=7:string',
    ],
    LocalObjectReference: ['name=1:string'],
    TypedLocalObjectReference: ['apiGroup=1:string?', 'kind=2:string', 'name=3:string'],
    ResourceQuota: [META, 'spec=2:ResourceQuotaSpec', 'status=3:ResourceQuotaStatus'],
    ResourceQuotaSpec: ['hard=1:{resource.Quantity}', 'scopes=2:[string]', 'scopeSelector=3:ScopeSelector'],
    ResourceQuotaStatus: ['hard=1:{resource.Quantity}', 'used=2:{resource.Quantity}'],
    ScopeSelector: ['matchExpressions=1:[ScopedResourceSelectorRequirement]'],
    ScopedResourceSelectorRequirement: ['scopeName=1:string', 'operator=2:string', 'values=3:[string]'],

    Service: [META, 'spec=2:ServiceSpec', 'status=3:ServiceStatus'],
    ServiceSpec: [
      'ports=1:[ServicePort]',
      'selector=2:{string}',
      'clusterIP=3:string',
      'type=4:string',
      'externalIPs=5:[string]',
      'sessionAffinity=7:string',
      'loadBalancerIP=8:string',
      'loadBalancerSourceRanges=9:[string]',
      'externalName=10:string',
      'externalTrafficPolicy=11:string',
      'healthCheckNodePort=12:int32',
      'publishNotReadyAddresses=13:bool',
      'sessionAffinityConfig=14:SessionAffinityConfig',
      'ipFamilyPolicy=17:string?',
      'clusterIPs=18:[string]',
      'ipFamilies=19:[string]',
      'allocateLoadBalancerNodePorts=20:bool?',
      'loadBalancerClass=21:string?',
      'internalTrafficPolicy=22:string?',
      'trafficDistribution=23:string?',
    ],
    ServicePort: [
      'name=1:string',
      'protocol=2:string',
      'port=3:int32',
      'targetPort=4:intstr.IntOrString',
      'nodePort=5:int32',
      'appProtocol=6:string?',
    ],
    SessionAffinityConfig: ['clientIP=1:ClientIPConfig'],
    ClientIPConfig: ['timeoutSeconds=1:int32?'],
    ServiceStatus: ['loadBalancer=1:LoadBalancerStatus', 'conditions=2:[meta.Condition]'],
    LoadBalancerStatus: ['ingress=1:[LoadBalancerIngress]'],
    LoadBalancerIngress: ['ip=1:string', 'hostname=2:string', 'ipMode=3:string?', 'ports=4:[PortStatus]'],
    PortStatus: ['port=1:int32', 'protocol=2:string', 'error=3:string?'],

    Event: [
      META,
      'involvedObject=2:ObjectReference',
      'reason=3:string',
      'message=4:string',
      'source=5:EventSource',
      'firstTimestamp=6:meta.Time',
      'lastTimestamp=7:meta.Time',
      'count=8:int32',
      'type=9:string',
      'eventTime=10:meta.MicroTime',
      'series=11:EventSeries',
      'action=12:string',
      'related=13:ObjectReference',
      'reportingComponent=14:string',
      'reportingInstance=15:string',
    ],
    EventSource: ['component=1:string', 'host=2:string'],
    EventSeries: ['count=1:int32', 'lastObservedTime=2:meta.MicroTime'],

    Pod: [META, 'spec=2:PodSpec'],
    PodTemplateSpec: [META, 'spec=2:PodSpec'],
    PodSpec: [
      'volumes=1:[Volume]',
      'containers=2:[Container]',
      'restartPolicy=3:string',
      'terminationGracePeriodSeconds=4:int64?',
      'activeDeadlineSeconds=5:int64?',
      'dnsPolicy=6:string',
      'nodeSelector=7:{string}',
      'serviceAccountName=8:string',
      'serviceAccount=9:string',
      'nodeName=10:string',
      'hostNetwork=11:bool',
      'hostPID=12:bool',
      'hostIPC=13:bool',
      'securityContext=14:PodSecurityContext',
      'imagePullSecrets=15:[LocalObjectReference]',
      'hostname=16:string',
      'subdomain=17:string',
      'affinity=18:Affinity',
      'schedulerName=19:string',
      'initContainers=20:[Container]',
      'automountServiceAccountToken=21:bool?',
      'tolerations=22:[Toleration]',
      'hostAliases=23:[HostAlias]',
      'priorityClassName=24:string',
      'priority=25:int32?',
      'dnsConfig=26:PodDNSConfig',
      'shareProcessNamespace=27:bool?',
      'readinessGates=28:[PodReadinessGate]',
      'runtimeClassName=29:string?',
      'enableServiceLinks=30:bool?',
      'preemptionPolicy=31:string?',
      'overhead=32:{resource.Quantity}',
      'topologySpreadConstraints=33:[TopologySpreadConstraint]',
      'setHostnameAsFQDN=35:bool?',
      'os=36:PodOS',
      'hostUsers=37:bool?',
      'schedulingGates=38:[PodSchedulingGate]',
      'resources=40:ResourceRequirements',
    ],
    PodOS: ['name=1:string'],
    PodSchedulingGate: ['name=1:string'],
    PodReadinessGate: ['conditionType=1:string'],
    PodDNSConfig: ['nameservers=1:[string]', 'searches=2:[string]', 'options=3:[PodDNSConfigOption]'],
    PodDNSConfigOption: ['name=1:string', 'value=2:string?'],
    HostAlias: ['ip=1:string', 'hostnames=2:[string]'],
    Toleration: [
      'key=1:string',
      'operator=2:string',
      'value=3:string',
      'effect=4:string',
      'tolerationSeconds=5:int64?',
    ],
    TopologySpreadConstraint: [
      'maxSkew=1:int32',
      'topologyKey=2:string',
      'whenUnsatisfiable=3:string',
      'labelSelector=4:meta.LabelSelector',
      'minDomains=5:int32?',
      'nodeAffinityPolicy=6:string?',
      'nodeTaintsPolicy=7:string?',
      'matchLabelKeys=8:[string]',
    ],
    Affinity: ['nodeAffinity=1:NodeAffinity', 'podAffinity=2:PodAffinity', 'podAntiAffinity=3:PodAntiAffinity'],
    NodeAffinity: [
      'requiredDuringSchedulingIgnoredDuringExecution=1:NodeSelector',
      'preferredDuringSchedulingIgnoredDuringExecution=2:[PreferredSchedulingTerm]',
    ],
    NodeSelector: ['nodeSelectorTerms=1:[NodeSelectorTerm]'],
    NodeSelectorTerm: ['matchExpressions=1:[NodeSelectorRequirement]', 'matchFields=2:[NodeSelectorRequirement]'],
    NodeSelectorRequirement: ['key=1:string', 'operator=2:string', 'values=3:[string]'],
    PreferredSchedulingTerm: ['weight=1:int32', 'preference=2:NodeSelectorTerm'],
    PodAffinity: [
      'requiredDuringSchedulingIgnoredDuringExecution=1:[PodAffinityTerm]',
      'preferredDuringSchedulingIgnoredDuringExecution=2:[WeightedPodAffinityTerm]',
    ],
    PodAntiAffinity: [
      'requiredDuringSchedulingIgnoredDuringExecution=1:[PodAffinityTerm]',
      'preferredDuringSchedulingIgnoredDuringExecution=2:[WeightedPodAffinityTerm]',
    ],
    PodAffinityTerm: [
      'labelSelector=1:meta.LabelSelector',
      'namespaces=2:[string]',
      'topologyKey=3:string',
      'namespaceSelector=4:meta.LabelSelector',
    ],
    WeightedPodAffinityTerm: ['weight=1:int32', 'podAffinityTerm=2:PodAffinityTerm'],
    PodSecurityContext: [
      'seLinuxOptions=1:SELinuxOptions',
      'runAsUser=2:int64?',
      'runAsNonRoot=3:bool?',
      'supplementalGroups=4:[int64]',
      'fsGroup=5:int64?',
      'runAsGroup=6:int64?',
      'sysctls=7:[Sysctl]',
      'windowsOptions=8:WindowsSecurityContextOptions',
      'fsGroupChangePolicy=9:string?',
      'seccompProfile=10:SeccompProfile',
    ],
    SecurityContext: [
      'capabilities=1:Capabilities',
      'privileged=2:bool?',
      'seLinuxOptions=3:SELinuxOptions',
      'runAsUser=4:int64?',
      'runAsNonRoot=5:bool?',
      'readOnlyRootFilesystem=6:bool?',
      'allowPrivilegeEscalation=7:bool?',
      'runAsGroup=8:int64?',
      'procMount=9:string?',
      'windowsOptions=10:WindowsSecurityContextOptions',
      'seccompProfile=11:SeccompProfile',
    ],
    Capabilities: ['add=1:[string]', 'drop=2:[string]'],
    SELinuxOptions: ['user=1:string', 'role=2:string', 'type=3:string', 'level=4:string'],
    SeccompProfile: ['type=1:string', 'localhostProfile=2:string?'],
    WindowsSecurityContextOptions: [
      'gmsaCredentialSpecName=1:string?',
      'gmsaCredentialSpec=2:string?',
      'runAsUserName=3:string?',
      'hostProcess=4:bool?',
    ],
    Sysctl: ['name=1:string', 'value=2:string'],

    Container: [
      'name=1:string',
      'image=2:string',
      'command=3:[string]',
      'args=4:[string]',
      'workingDir=5:string',
      'ports=6:[ContainerPort]',
      'env=7:[EnvVar]',
      'resources=8:ResourceRequirements',
      'volumeMounts=9:[VolumeMount]',
      'livenessProbe=10:Probe',
      'readinessProbe=11:Probe',
      'lifecycle=12:Lifecycle',
      'terminationMessagePath=13:string',
      'imagePullPolicy=14:string',
      'securityContext=15:SecurityContext',
      'stdin=16:bool',
      'stdinOnce=17:bool',
      'tty=18:bool',
      'envFrom=19:[EnvFromSource]',
      'terminationMessagePolicy=20:string',
      'volumeDevices=21:[VolumeDevice]',
      'startupProbe=22:Probe',
      'resizePolicy=23:[ContainerResizePolicy]',
      'restartPolicy=24:string?',
    ],
    ContainerResizePolicy: ['resourceName=1:string', 'restartPolicy=2:string'],
    ContainerPort: [
      'name=1:string',
      'hostPort=2:int32',
      'containerPort=3:int32',
      'protocol=4:string',
      'hostIP=5:string',
    ],
    EnvVar: ['name=1:string', 'value=2:string', 'valueFrom=3:EnvVarSource'],
    EnvVarSource: [
      'fieldRef=1:ObjectFieldSelector',
      'resourceFieldRef=2:ResourceFieldSelector',
      'configMapKeyRef=3:ConfigMapKeySelector',
      'secretKeyRef=4:SecretKeySelector',
    ],
    ObjectFieldSelector: ['apiVersion=1:string', 'fieldPath=2:string'],
    ResourceFieldSelector: ['containerName=1:string', 'resource=2:string', 'divisor=3:resource.Quantity'],
    ConfigMapKeySelector: ['localObjectReference=1:LocalObjectReference^', 'key=2:string', 'optional=3:bool?'],
    SecretKeySelector: ['localObjectReference=1:LocalObjectReference^', 'key=2:string', 'optional=3:bool?'],
    EnvFromSource: ['prefix=1:string', 'configMapRef=2:ConfigMapEnvSource', 'secretRef=3:SecretEnvSource'],
    ConfigMapEnvSource: ['localObjectReference=1:LocalObjectReference^', 'optional=2:bool?'],
    SecretEnvSource: ['localObjectReference=1:LocalObjectReference^', 'optional=2:bool?'],
    ResourceRequirements: [
      'limits=1:{resource.Quantity}',
      'requests=2:{resource.Quantity}',
      'claims=3:[ResourceClaim]',
    ],
    ResourceClaim: ['name=1:string', 'request=2:string'],
    VolumeMount: [
      'name=1:string',
      'readOnly=2:bool',
      'mountPath=3:string',
      'subPath=4:string',
      'mountPropagation=5:string?',
      'subPathExpr=6:string',
      'recursiveReadOnly=7:string?',
    ],
    VolumeDevice: ['name=1:string', 'devicePath=2:string'],
    Probe: [
      'handler=1:ProbeHandler^',
      'initialDelaySeconds=2:int32',
      'timeoutSeconds=3:int32',
      'periodSeconds=4:int32',
      'successThreshold=5:int32',
      'failureThreshold=6:int32',
      'terminationGracePeriodSeconds=7:int64?',
    ],
    ProbeHandler: ['exec=1:ExecAction', 'httpGet=2:HTTPGetAction', 'tcpSocket=3:TCPSocketAction', 'grpc=4:GRPCAction'],
    Lifecycle: ['postStart=1:LifecycleHandler', 'preStop=2:LifecycleHandler', 'stopSignal=3:string?'],
    LifecycleHandler: [
      'exec=1:ExecAction',
      'httpGet=2:HTTPGetAction',
      'tcpSocket=3:TCPSocketAction',
      'sleep=4:SleepAction',
    ],
    ExecAction: ['command=1:[string]'],
    HTTPGetAction: [
      'path=1:string',
      'port=2:intstr.IntOrString',
      'host=3:string',
      'scheme=4:string',
      'httpHeaders=5:[HTTPHeader]',
    ],
    HTTPHeader: ['name=1:string', 'value=2:string'],
    TCPSocketAction: ['port=1:intstr.IntOrString', 'host=2:string'],
    GRPCAction: ['port=1:int32', 'service=2:string?'],
    SleepAction: ['seconds=1:int64'],

    Volume: ['name=1:string', 'volumeSource=2:VolumeSource^'],
    VolumeSource: [
      'hostPath=1:HostPathVolumeSource',
      'emptyDir=2:EmptyDirVolumeSource',
      'secret=6:SecretVolumeSource',
      'nfs=7:NFSVolumeSource',
      'persistentVolumeClaim=10:PersistentVolumeClaimVolumeSource',
      'downwardAPI=16:DownwardAPIVolumeSource',
      'configMap=19:ConfigMapVolumeSource',
      'projected=26:ProjectedVolumeSource',
      'csi=28:CSIVolumeSource',
    ],
    HostPathVolumeSource: ['path=1:string', 'type=2:string?'],
    EmptyDirVolumeSource: ['medium=1:string', 'sizeLimit=2:resource.Quantity?'],
    SecretVolumeSource: ['secretName=1:string', 'items=2:[KeyToPath]', 'defaultMode=3:int32?', 'optional=4:bool?'],
    ConfigMapVolumeSource: [
      'localObjectReference=1:LocalObjectReference^',
      'items=2:[KeyToPath]',
      'defaultMode=3:int32?',
      'optional=4:bool?',
    ],
    KeyToPath: ['key=1:string', 'path=2:string', 'mode=3:int32?'],
    NFSVolumeSource: ['server=1:string', 'path=2:string', 'readOnly=3:bool'],
    PersistentVolumeClaimVolumeSource: ['claimName=1:string', 'readOnly=2:bool'],
    DownwardAPIVolumeSource: ['items=1:[DownwardAPIVolumeFile]', 'defaultMode=2:int32?'],
    DownwardAPIVolumeFile: [
      'path=1:string',
      'fieldRef=2:ObjectFieldSelector',
      'resourceFieldRef=3:ResourceFieldSelector',
      'mode=4:int32?',
    ],
    ProjectedVolumeSource: ['sources=1:[VolumeProjection]', 'defaultMode=2:int32?'],
    VolumeProjection: [
      'secret=1:SecretProjection',
      'downwardAPI=2:DownwardAPIProjection',
      'configMap=3:ConfigMapProjection',
      'serviceAccountToken=4:ServiceAccountTokenProjection',
    ],
    SecretProjection: ['localObjectReference=1:LocalObjectReference^', 'items=2:[KeyToPath]', 'optional=4:bool?'],
    ConfigMapProjection: ['localObjectReference=1:LocalObjectReference^', 'items=2:[KeyToPath]', 'optional=4:bool?'],
    DownwardAPIProjection: ['items=1:[DownwardAPIVolumeFile]'],
    ServiceAccountTokenProjection: ['audience=1:string', 'expirationSeconds=2:int64?', 'path=3:string'],
    CSIVolumeSource: [
      'driver=1:string',
      'readOnly=2:bool?',
      'fsType=3:string?',
      'volumeAttributes=4:{string}',
      'nodePublishSecretRef=5:LocalObjectReference',
    ],
  },
  autoscaling: {
    // maxReplicas, currentReplicas and desiredReplicas have no `omitempty`: the wire always carries
    // them, and JSON keeps them at zero, so they are marked as kept-when-present.
    HorizontalPodAutoscaler: [META, 'spec=2:HorizontalPodAutoscalerSpec', 'status=3:HorizontalPodAutoscalerStatus'],
    HorizontalPodAutoscalerSpec: [
      'scaleTargetRef=1:CrossVersionObjectReference',
      'minReplicas=2:int32?',
      'maxReplicas=3:int32?',
      'targetCPUUtilizationPercentage=4:int32?',
    ],
    CrossVersionObjectReference: ['kind=1:string', 'name=2:string', 'apiVersion=3:string'],
    HorizontalPodAutoscalerStatus: [
      'observedGeneration=1:int64?',
      'lastScaleTime=2:meta.Time',
      'currentReplicas=3:int32?',
      'desiredReplicas=4:int32?',
      'currentCPUUtilizationPercentage=5:int32?',
    ],
  },
  apps: {
    Deployment: [META, 'spec=2:DeploymentSpec', 'status=3:DeploymentStatus'],
    DeploymentSpec: [
      'replicas=1:int32?',
      'selector=2:meta.LabelSelector',
      'template=3:core.PodTemplateSpec',
      'strategy=4:DeploymentStrategy',
      'minReadySeconds=5:int32',
      'revisionHistoryLimit=6:int32?',
      'paused=7:bool',
      'progressDeadlineSeconds=9:int32?',
    ],
    DeploymentStrategy: ['type=1:string', 'rollingUpdate=2:RollingUpdateDeployment'],
    RollingUpdateDeployment: ['maxUnavailable=1:intstr.IntOrString?', 'maxSurge=2:intstr.IntOrString?'],
    DeploymentStatus: [
      'observedGeneration=1:int64',
      'replicas=2:int32',
      'updatedReplicas=3:int32',
      'availableReplicas=4:int32',
      'unavailableReplicas=5:int32',
      'conditions=6:[DeploymentCondition]',
      'readyReplicas=7:int32',
      'collisionCount=8:int32?',
      'terminatingReplicas=9:int32?',
    ],
    DeploymentCondition: [
      'type=1:string',
      'status=2:string',
      'reason=4:string',
      'message=5:string',
      'lastUpdateTime=6:meta.Time',
      'lastTransitionTime=7:meta.Time',
    ],
    ReplicaSet: [META, 'spec=2:ReplicaSetSpec', 'status=3:ReplicaSetStatus'],
    ReplicaSetSpec: [
      'replicas=1:int32?',
      'selector=2:meta.LabelSelector',
      'template=3:core.PodTemplateSpec',
      'minReadySeconds=4:int32',
    ],
    ReplicaSetStatus: [
      'replicas=1:int32',
      'fullyLabeledReplicas=2:int32',
      'observedGeneration=3:int64',
      'readyReplicas=4:int32',
      'availableReplicas=5:int32',
      'conditions=6:[ReplicaSetCondition]',
      'terminatingReplicas=7:int32?',
    ],
    ReplicaSetCondition: [
      'type=1:string',
      'status=2:string',
      'lastTransitionTime=3:meta.Time',
      'reason=4:string',
      'message=5:string',
    ],
  },
  batch: {
    Job: [META, 'spec=2:JobSpec', 'status=3:JobStatus'],
    JobSpec: [
      'parallelism=1:int32?',
      'completions=2:int32?',
      'activeDeadlineSeconds=3:int64?',
      'selector=4:meta.LabelSelector',
      'manualSelector=5:bool?',
      'template=6:core.PodTemplateSpec',
      'backoffLimit=7:int32?',
      'ttlSecondsAfterFinished=8:int32?',
      'completionMode=9:string?',
      'suspend=10:bool?',
      'backoffLimitPerIndex=12:int32?',
      'maxFailedIndexes=13:int32?',
      'podReplacementPolicy=14:string?',
      'managedBy=15:string?',
    ],
    JobStatus: [
      'conditions=1:[JobCondition]',
      'startTime=2:meta.Time',
      'completionTime=3:meta.Time',
      'active=4:int32',
      'succeeded=5:int32',
      'failed=6:int32',
      'completedIndexes=7:string',
      'ready=9:int32?',
      'failedIndexes=10:string?',
      'terminating=11:int32?',
    ],
    JobCondition: [
      'type=1:string',
      'status=2:string',
      'lastProbeTime=3:meta.Time',
      'lastTransitionTime=4:meta.Time',
      'reason=5:string',
      'message=6:string',
    ],
    JobTemplateSpec: [META, 'spec=2:JobSpec'],
    CronJob: [META, 'spec=2:CronJobSpec', 'status=3:CronJobStatus'],
    CronJobSpec: [
      'schedule=1:string',
      'startingDeadlineSeconds=2:int64?',
      'concurrencyPolicy=3:string',
      'suspend=4:bool?',
      'jobTemplate=5:JobTemplateSpec',
      'successfulJobsHistoryLimit=6:int32?',
      'failedJobsHistoryLimit=7:int32?',
      'timeZone=8:string?',
    ],
    CronJobStatus: [
      'active=1:[core.ObjectReference]',
      'lastScheduleTime=4:meta.Time',
      'lastSuccessfulTime=5:meta.Time',
    ],
  },
  networking: {
    Ingress: [META, 'spec=2:IngressSpec', 'status=3:IngressStatus'],
    IngressSpec: [
      'defaultBackend=1:IngressBackend',
      'tls=2:[IngressTLS]',
      'rules=3:[IngressRule]',
      'ingressClassName=4:string?',
    ],
    IngressBackend: ['resource=3:core.TypedLocalObjectReference', 'service=4:IngressServiceBackend'],
    IngressServiceBackend: ['name=1:string', 'port=2:ServiceBackendPort'],
    ServiceBackendPort: ['name=1:string', 'number=2:int32'],
    IngressTLS: ['hosts=1:[string]', 'secretName=2:string'],
    IngressRule: ['host=1:string', 'ingressRuleValue=2:IngressRuleValue^'],
    IngressRuleValue: ['http=1:HTTPIngressRuleValue'],
    HTTPIngressRuleValue: ['paths=1:[HTTPIngressPath]'],
    HTTPIngressPath: ['path=1:string', 'backend=2:IngressBackend', 'pathType=3:string?'],
    IngressStatus: ['loadBalancer=1:IngressLoadBalancerStatus'],
    IngressLoadBalancerStatus: ['ingress=1:[IngressLoadBalancerIngress]'],
    IngressLoadBalancerIngress: ['ip=1:string', 'hostname=2:string', 'ports=4:[IngressPortStatus]'],
    IngressPortStatus: ['port=1:int32', 'protocol=2:string', 'error=3:string?'],
  },
  coordination: {
    Lease: [META, 'spec=2:LeaseSpec'],
    LeaseSpec: [
      'holderIdentity=1:string?',
      'leaseDurationSeconds=2:int32?',
      'acquireTime=3:meta.MicroTime',
      'renewTime=4:meta.MicroTime',
      'leaseTransitions=5:int32?',
      'strategy=6:string?',
      'preferredHolder=7:string?',
    ],
  },
  rbac: {
    Role: [META, 'rules=2:[PolicyRule]'],
    ClusterRole: [META, 'rules=2:[PolicyRule]', 'aggregationRule=3:AggregationRule'],
    RoleBinding: [META, 'subjects=2:[Subject]', 'roleRef=3:RoleRef'],
    ClusterRoleBinding: [META, 'subjects=2:[Subject]', 'roleRef=3:RoleRef'],
    PolicyRule: [
      'verbs=1:[string]',
      'apiGroups=2:[string]',
      'resources=3:[string]',
      'resourceNames=4:[string]',
      'nonResourceURLs=5:[string]',
    ],
    AggregationRule: ['clusterRoleSelectors=1:[meta.LabelSelector]'],
    RoleRef: ['apiGroup=1:string', 'kind=2:string', 'name=3:string'],
    Subject: ['kind=1:string', 'apiGroup=2:string', 'name=3:string', 'namespace=4:string'],
  },
  authentication: {
    TokenRequest: [META, 'spec=2:TokenRequestSpec'],
    TokenRequestSpec: ['audiences=1:[string]', 'boundObjectRef=3:BoundObjectReference', 'expirationSeconds=4:int64?'],
    BoundObjectReference: ['kind=1:string', 'apiVersion=2:string', 'name=3:string', 'uID=4:string>uid'],
    TokenReview: [META, 'spec=2:TokenReviewSpec'],
    TokenReviewSpec: ['token=1:string', 'audiences=2:[string]'],
    SelfSubjectReview: [META],
  },
  authorization: {
    SelfSubjectAccessReview: [META, 'spec=2:SelfSubjectAccessReviewSpec'],
    SelfSubjectAccessReviewSpec: [
      'resourceAttributes=1:ResourceAttributes',
      'nonResourceAttributes=2:NonResourceAttributes',
    ],
    SelfSubjectRulesReview: [META, 'spec=2:SelfSubjectRulesReviewSpec'],
    SelfSubjectRulesReviewSpec: ['namespace=1:string'],
    SubjectAccessReview: [META, 'spec=2:SubjectAccessReviewSpec'],
    LocalSubjectAccessReview: [META, 'spec=2:SubjectAccessReviewSpec'],
    SubjectAccessReviewSpec: [
      'resourceAttributes=1:ResourceAttributes',
      'nonResourceAttributes=2:NonResourceAttributes',
      'user=3:string',
      'groups=4:[string]',
      'uid=6:string',
    ],
    ResourceAttributes: [
      'namespace=1:string',
      'verb=2:string',
      'group=3:string',
      'version=4:string',
      'resource=5:string',
      'subresource=6:string',
      'name=7:string',
    ],
    NonResourceAttributes: ['path=1:string', 'verb=2:string'],
  },
  policy: {
    PodDisruptionBudget: [META, 'spec=2:PodDisruptionBudgetSpec', 'status=3:PodDisruptionBudgetStatus'],
    PodDisruptionBudgetSpec: [
      'minAvailable=1:intstr.IntOrString',
      'selector=2:meta.LabelSelector',
      'maxUnavailable=3:intstr.IntOrString',
      'unhealthyPodEvictionPolicy=4:string?',
    ],
    // The counters have no `omitempty`: Go's JSON writes them even when zero.
    PodDisruptionBudgetStatus: [
      'observedGeneration=1:int64',
      'disruptedPods=2:{meta.Time}',
      'disruptionsAllowed=3:int32?',
      'currentHealthy=4:int32?',
      'desiredHealthy=5:int32?',
      'expectedPods=6:int32?',
      'conditions=7:[meta.Condition]',
    ],
  },
  scheduling: {
    // `value` has no `omitempty`: 0 is a value.
    PriorityClass: [
      META,
      'value=2:int32?',
      'globalDefault=3:bool',
      'description=4:string',
      'preemptionPolicy=5:string?',
    ],
  },
  certificates: {
    CertificateSigningRequest: [
      META,
      'spec=2:CertificateSigningRequestSpec',
      'status=3:CertificateSigningRequestStatus',
    ],
    CertificateSigningRequestSpec: [
      'request=1:bytes',
      'signerName=7:string',
      'expirationSeconds=8:int32?',
      'usages=5:[string]',
      'username=2:string',
      'uid=3:string',
      'groups=4:[string]',
      'extra=6:{ExtraValue}',
    ],
    // Its JSON is the list itself (see EXTRA_VALUE in protobuf.ts).
    ExtraValue: ['items=1:[string]'],
    CertificateSigningRequestStatus: ['conditions=1:[CertificateSigningRequestCondition]', 'certificate=2:bytes'],
    CertificateSigningRequestCondition: [
      'type=1:string',
      'status=6:string',
      'reason=2:string',
      'message=3:string',
      'lastUpdateTime=4:meta.Time',
      'lastTransitionTime=5:meta.Time',
    ],
  },
};

/**
 * The top-level kinds the decoder accepts, by `apiVersion` and `kind` of the envelope's TypeMeta.
 * `*` matches any apiVersion (DeleteOptions is registered in every group version).
 */
export const KINDS: Readonly<Record<string, `${PackageAlias}.${string}`>> = {
  'v1/ConfigMap': 'core.ConfigMap',
  'v1/Secret': 'core.Secret',
  'v1/Namespace': 'core.Namespace',
  'v1/Service': 'core.Service',
  'v1/ServiceAccount': 'core.ServiceAccount',
  'v1/ResourceQuota': 'core.ResourceQuota',
  'v1/Event': 'core.Event',
  'v1/Pod': 'core.Pod',
  'apps/v1/Deployment': 'apps.Deployment',
  'apps/v1/ReplicaSet': 'apps.ReplicaSet',
  'autoscaling/v1/HorizontalPodAutoscaler': 'autoscaling.HorizontalPodAutoscaler',
  'batch/v1/Job': 'batch.Job',
  'batch/v1/CronJob': 'batch.CronJob',
  'networking.k8s.io/v1/Ingress': 'networking.Ingress',
  'coordination.k8s.io/v1/Lease': 'coordination.Lease',
  'rbac.authorization.k8s.io/v1/Role': 'rbac.Role',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'rbac.ClusterRole',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'rbac.RoleBinding',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'rbac.ClusterRoleBinding',
  'authentication.k8s.io/v1/TokenRequest': 'authentication.TokenRequest',
  'authentication.k8s.io/v1/TokenReview': 'authentication.TokenReview',
  'authentication.k8s.io/v1/SelfSubjectReview': 'authentication.SelfSubjectReview',
  'authorization.k8s.io/v1/SelfSubjectAccessReview': 'authorization.SelfSubjectAccessReview',
  'authorization.k8s.io/v1/SelfSubjectRulesReview': 'authorization.SelfSubjectRulesReview',
  'authorization.k8s.io/v1/SubjectAccessReview': 'authorization.SubjectAccessReview',
  'authorization.k8s.io/v1/LocalSubjectAccessReview': 'authorization.LocalSubjectAccessReview',
  'policy/v1/PodDisruptionBudget': 'policy.PodDisruptionBudget',
  'scheduling.k8s.io/v1/PriorityClass': 'scheduling.PriorityClass',
  'certificates.k8s.io/v1/CertificateSigningRequest': 'certificates.CertificateSigningRequest',
  '*/DeleteOptions': 'meta.DeleteOptions',
};

/** How one field maps to JSON, beyond what the protobuf descriptor says. */
export interface FieldJson {
  /** The JSON property name. */
  json: string;
  /** A Go pointer: present on the wire means present in JSON, zero or not. */
  pointer: boolean;
  /** `json:",inline"`: the sub-object's properties are merged into the parent. */
  inline: boolean;
}

interface JsonField {
  id: number;
  type: string;
  rule?: 'repeated';
  keyType?: 'string';
}

interface JsonNamespace {
  nested: Record<string, JsonNamespace | { fields: Record<string, JsonField> }>;
}

export interface CompiledSchema {
  /** A protobufjs JSON descriptor (`Root.fromJSON`). */
  descriptor: JsonNamespace;
  /** Field JSON mapping, by `<fully.qualified.Message>.<field>` (no leading dot). */
  fields: Map<string, FieldJson>;
}

const SCALARS = new Set(['string', 'bytes', 'bool', 'int32', 'int64', 'uint32', 'uint64', 'double', 'float']);
const FIELD = /^(\w+)=(\d+):(\[|\{)?([\w.]+)(\]|\})?(\?)?(\^)?(?:>(\w+))?$/;

function qualify(pkg: PackageAlias, ref: string): string {
  if (SCALARS.has(ref)) return ref;
  const dot = ref.indexOf('.');
  if (dot < 0) return `.${PACKAGES[pkg]}.${ref}`;
  const alias = ref.slice(0, dot);
  if (!(alias in PACKAGES)) throw new Error(`protobuf schema: unknown package alias in ${JSON.stringify(ref)}`);
  return `.${PACKAGES[alias as PackageAlias]}.${ref.slice(dot + 1)}`;
}

/** Full protobuf name (no leading dot) of a `pkg.Message` reference such as `core.ConfigMap`. */
export function fullName(ref: `${PackageAlias}.${string}`): string {
  const dot = ref.indexOf('.');
  return `${PACKAGES[ref.slice(0, dot) as PackageAlias]}.${ref.slice(dot + 1)}`;
}

/** Compiles MESSAGES into a protobufjs JSON descriptor plus the JSON mapping of every field. */
export function buildDescriptor(): CompiledSchema {
  const descriptor: JsonNamespace = { nested: {} };
  const fields = new Map<string, FieldJson>();
  for (const [alias, messages] of Object.entries(MESSAGES) as [PackageAlias, Record<string, readonly string[]>][]) {
    let ns = descriptor;
    for (const part of PACKAGES[alias].split('.')) {
      const next = (ns.nested[part] ??= { nested: {} });
      if (!('nested' in next)) throw new Error(`protobuf schema: ${part} is both a message and a package`);
      ns = next;
    }
    for (const [name, specs] of Object.entries(messages)) {
      const out: Record<string, JsonField> = {};
      for (const spec of specs) {
        const m = FIELD.exec(spec);
        if (!m) throw new Error(`protobuf schema: cannot parse field ${JSON.stringify(spec)} of ${name}`);
        const [, field, id, open, type, close, pointer, inline, json] = m as unknown as [
          string,
          string,
          string,
          string | undefined,
          string,
          string | undefined,
          string | undefined,
          string | undefined,
          string | undefined,
        ];
        if ((open === '[' && close !== ']') || (open === '{' && close !== '}') || (!open && close)) {
          throw new Error(`protobuf schema: unbalanced brackets in ${JSON.stringify(spec)} of ${name}`);
        }
        const f: JsonField = { id: Number(id), type: qualify(alias, type) };
        if (open === '[') f.rule = 'repeated';
        if (open === '{') f.keyType = 'string';
        out[field] = f;
        fields.set(`${PACKAGES[alias]}.${name}.${field}`, {
          json: json ?? field,
          pointer: !!pointer,
          inline: !!inline,
        });
      }
      ns.nested[name] = { fields: out };
    }
  }
  return { descriptor, fields };
}
