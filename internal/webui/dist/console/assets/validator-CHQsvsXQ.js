import{cp as i}from"./index-JmZlVrxy.js";const n=o=>["",...i].includes(o);export{n as i};
